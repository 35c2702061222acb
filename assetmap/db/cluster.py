"""A project-local PostgreSQL/PostGIS cluster: the embedded default database.

The cluster lives under the project's ``instance/pg`` folder (or ``ASSETMAP_PG_DIR``), listens on
127.0.0.1 on a port chosen once and remembered, and trusts local connections only. ``initdb``
refuses to run as root, so when invoked as root the server runs as the ``postgres`` system user.
Set ``DATABASE_URL`` to use any other PostGIS instead; nothing here is then used.
"""
from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from assetmap import config
from assetmap.errors import DatabaseUnavailableError

DEFAULT_DB = "assetmap"
SUPERUSER = "postgres"


def database_url(dbname: str | None = None) -> str:
    """``DATABASE_URL`` if set (:func:`assetmap.config.configured_database_url`), else the URL of
    the project-local cluster; ``dbname`` names another database than the default."""
    configured = config.configured_database_url(dbname)
    return configured or LocalCluster.default(config.instance_dir()).url(dbname or DEFAULT_DB)


def find_pg_bin() -> Path:
    """The newest installed PostgreSQL server's bin directory."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    for c in reversed(candidates):
        if (Path(c) / "initdb").exists():
            return Path(c)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise DatabaseUnavailableError(
        "PostgreSQL is not installed: run ./scripts/setup.sh (installs it from Debian's packages) "
        "or set DATABASE_URL to an existing PostGIS."
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalCluster:
    """Manage the project-local cluster rooted at ``root``."""

    root: Path

    @classmethod
    def default(cls, project_dir: Path | None = None) -> LocalCluster:
        env = os.environ.get("ASSETMAP_PG_DIR")
        if env:
            return cls(Path(env).resolve())
        project_dir = project_dir or Path(os.environ.get("ASSETMAP_INSTANCE_DIR", Path.cwd() / "instance")).resolve()
        root = project_dir / "pg" if project_dir.name == "instance" else project_dir / "instance" / "pg"
        if _running_as_root() and not _reachable_by_postgres(root.parent):
            # The postgres user cannot traverse into the project (a home directory with mode 700,
            # say), so keep the cluster in a system temp folder named after the project path.
            digest = hashlib.sha1(str(root).encode()).hexdigest()[:10]
            root = Path("/var/tmp") / f"assetmap-pg-{digest}"
        return cls(root)

    # --- paths -----------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    @property
    def port(self) -> int:
        try:
            return int(self.port_file.read_text().strip())
        except FileNotFoundError:
            raise DatabaseUnavailableError(
                "the local database cluster has not been created yet: run `assetmap db up`"
            ) from None

    def url(self, dbname: str = DEFAULT_DB) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    # --- lifecycle -------------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        result = self._pg("pg_ctl", "status", "-D", str(self.data_dir), check=False, capture=True)
        return result.returncode == 0

    def up(self, echo=print) -> str:
        """Create (first time) and start the cluster; return its URL. Idempotent."""
        bin_dir = find_pg_bin()
        self.root.mkdir(parents=True, exist_ok=True)
        if _running_as_root():
            _chown_to_postgres(self.root)
        if not self.is_initialised():
            echo(f"creating a local PostgreSQL cluster in {self.data_dir}")
            self._pg(
                "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
                "--encoding=UTF8", "--locale=C.UTF-8", capture=True, bin_dir=bin_dir,
            )
            port = _free_port()
            settings = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(port),
                "unix_socket_directories": "''",
                "shared_buffers": "'256MB'",
                "work_mem": "'32MB'",
                "maintenance_work_mem": "'512MB'",
                "max_wal_size": "'2GB'",
                "timezone": "'UTC'",
            }
            conf = self.data_dir / "postgresql.auto.conf"
            with open(conf, "a") as f:
                for key, value in settings.items():
                    f.write(f"{key} = {value}\n")
            self.port_file.write_text(f"{port}\n")
            if _running_as_root():
                _chown_to_postgres(self.root)
        if not self.is_running():
            echo(f"starting PostgreSQL on 127.0.0.1:{self.port}")
            self._pg(
                "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                capture=True, bin_dir=bin_dir,
            )
        self._wait_ready()
        return self.url()

    def down(self, echo=print) -> None:
        if self.is_running():
            echo("stopping PostgreSQL")
            self._pg("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", capture=True)

    def restart(self, echo=print) -> None:
        """Stop (fast: open connections are cut) and start again, as a crash-free restart would."""
        echo("restarting PostgreSQL")
        self._pg("pg_ctl", "restart", "-D", str(self.data_dir), "-m", "fast", "-l", str(self.log_file), "-w",
                 "-t", "60", capture=True)

    def status(self) -> str:
        if not self.is_initialised():
            return f"not created ({self.data_dir})"
        state = "running" if self.is_running() else "stopped"
        return f"{state} on 127.0.0.1:{self.port} ({self.data_dir})"

    # --- helpers ---------------------------------------------------------------------------
    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        raise DatabaseUnavailableError(f"PostgreSQL did not start; see {self.log_file}")

    def _pg(self, tool, *args, check=True, capture=False, bin_dir=None):
        bin_dir = bin_dir or find_pg_bin()
        cmd = [str(bin_dir / tool), *args]
        if _running_as_root():
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=capture, text=True, cwd="/")
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip().splitlines()
            raise DatabaseUnavailableError(
                f"{tool} failed: {detail[-1] if detail else 'exit ' + str(result.returncode)}"
                f" (log: {self.log_file})"
            )
        return result


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _reachable_by_postgres(path: Path) -> bool:
    """Can the postgres user traverse every folder down to ``path``?"""
    path = path.resolve()
    for parent in [*reversed(path.parents), path]:
        if not parent.exists():
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:  # no execute for "other"
            return False
    return True


def _chown_to_postgres(path: Path) -> None:
    pw = pwd.getpwnam("postgres")
    for dirpath, _dirnames, filenames in os.walk(path):
        os.chown(dirpath, pw.pw_uid, pw.pw_gid)
        for name in filenames:
            try:
                os.chown(os.path.join(dirpath, name), pw.pw_uid, pw.pw_gid)
            except FileNotFoundError:
                pass
