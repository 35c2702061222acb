"""A project-local Redis: where rate limits and the computation slots are counted for every worker
and server (``REDIS_URL``), started the way :mod:`assetmap.db.cluster` starts PostgreSQL.

It lives under the project's ``instance/redis`` folder (or ``ASSETMAP_REDIS_DIR``), listens on
127.0.0.1 only, on a port chosen once and remembered, and keeps nothing on disk (counts that
vanish with a restart are harmless). Set ``REDIS_URL`` to use any other Redis instead; nothing
here is then used.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from assetmap import config
from assetmap.errors import AssetmapError


class RedisUnavailableError(AssetmapError):
    http_status = 503
    default_message = "Redis is not available"


def find_redis_server() -> Path:
    found = shutil.which("redis-server")
    if not found and Path("/usr/sbin/redis-server").exists():
        found = "/usr/sbin/redis-server"
    if not found:
        raise RedisUnavailableError(
            "redis-server is not installed: run ./scripts/setup.sh (installs it from Debian's packages) "
            "or set REDIS_URL to an existing Redis.")
    return Path(found)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalRedis:
    """Manage the project-local Redis rooted at ``root``."""

    root: Path

    @classmethod
    def default(cls) -> LocalRedis:
        env = os.environ.get("ASSETMAP_REDIS_DIR")
        return cls(Path(env).resolve() if env else config.instance_dir() / "redis")

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    @property
    def conf_file(self) -> Path:
        return self.root / "redis.conf"

    @property
    def log_file(self) -> Path:
        return self.root / "redis.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "redis.pid"

    @property
    def port(self) -> int:
        try:
            return int(self.port_file.read_text().strip())
        except FileNotFoundError:
            raise RedisUnavailableError("the local Redis has not been created yet: run `assetmap redis up`") from None

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def is_running(self) -> bool:
        if not self.port_file.exists():
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def up(self, echo=print) -> str:
        """Create (first time) and start the server; return its URL. Idempotent."""
        server = find_redis_server()
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.port_file.exists():
            self.port_file.write_text(f"{_free_port()}\n")
        self.conf_file.write_text("\n".join([
            "bind 127.0.0.1", f"port {self.port}", "protected-mode yes", "daemonize yes",
            f"pidfile {self.pid_file}", f"logfile {self.log_file}", f"dir {self.root}",
            'save ""', "appendonly no", "maxmemory 64mb", "maxmemory-policy volatile-ttl", "",
        ]))
        if not self.is_running():
            echo(f"starting Redis on 127.0.0.1:{self.port}")
            result = subprocess.run([str(server), str(self.conf_file)], capture_output=True, text=True, cwd="/")
            if result.returncode != 0:
                raise RedisUnavailableError(f"redis-server failed: {(result.stderr or result.stdout).strip()}")
            deadline = time.monotonic() + 15
            while not self.is_running():
                if time.monotonic() > deadline:
                    raise RedisUnavailableError(f"Redis did not start; see {self.log_file}")
                time.sleep(0.05)
        return self.url()

    def down(self, echo=print) -> None:
        if not self.is_running():
            return
        echo("stopping Redis")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"SHUTDOWN NOSAVE\r\n")
                s.recv(16)
        except OSError:
            pass
        deadline = time.monotonic() + 10
        while self.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)

    def status(self) -> str:
        if not self.port_file.exists():
            return f"not created ({self.root})"
        return f"{'running' if self.is_running() else 'stopped'} on 127.0.0.1:{self.port} ({self.root})"
