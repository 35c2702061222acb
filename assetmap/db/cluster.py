"""A project-local PostgreSQL/PostGIS cluster: the embedded default database.

The cluster lives under the project's ``instance/pg`` folder (or ``ASSETMAP_PG_DIR``) and listens
on 127.0.0.1 only, on a port chosen once and remembered. Every connection needs a password
(SCRAM): the ``postgres`` superuser's is in ``instance/pg-superuser.password``, used only by
``assetmap db up``; the application signs in as its own role, ``assetmap`` (owner of its databases,
may create databases, not a superuser), whose name and password are in ``instance/pg-app.json``.
Both files are readable by their owner only. PostGIS and pg_trgm are installed in ``template1``,
so a database the application creates has them without a superuser.

A cluster made before this, which trusted every local connection, is converted by the next
``assetmap db up``: the superuser gets a password, which the application then uses (its objects
stay owned by ``postgres``), and trust gives way to passwords.

``initdb`` refuses to run as root, so when invoked as root the server runs as the ``postgres``
system user. Set ``DATABASE_URL`` to use any other PostGIS instead; nothing here is then used.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import pwd
import re
import secrets
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
APP_ROLE = "assetmap"


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
    secrets_dir: Path | None = None  # where the password files go (default: ``root``)

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
        return cls(root, secrets_dir=project_dir if project_dir.name == "instance" else project_dir / "instance")

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

    @property
    def credentials_file(self) -> Path:
        return (self.secrets_dir or self.root) / "pg-app.json"

    @property
    def superuser_password_file(self) -> Path:
        return (self.secrets_dir or self.root) / "pg-superuser.password"

    @property
    def hba_file(self) -> Path:
        return self.data_dir / "pg_hba.conf"

    def credentials(self) -> tuple[str, str | None]:
        """The application's role and password; (postgres, None) for a cluster not yet converted
        from trust (see the module's notes)."""
        try:
            data = json.loads(self.credentials_file.read_text())
        except FileNotFoundError:
            return SUPERUSER, None
        return data["user"], data["password"]

    def url(self, dbname: str = DEFAULT_DB) -> str:
        user, password = self.credentials()
        auth = f"{user}:{password}" if password else user  # passwords are hex: nothing to escape
        return f"postgresql+psycopg://{auth}@127.0.0.1:{self.port}/{dbname}"

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
            superuser_password = secrets.token_hex(24)
            _write_private(self.superuser_password_file, superuser_password + "\n")
            pwfile = self.root / ".initdb-pwfile"  # initdb (as postgres, when root) must read it
            _write_private(pwfile, superuser_password + "\n")
            if _running_as_root():
                pw = pwd.getpwnam("postgres")
                os.chown(pwfile, pw.pw_uid, pw.pw_gid)
            try:
                self._pg(
                    "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth-host=scram-sha-256",
                    "--auth-local=peer", f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C.UTF-8",
                    capture=True, bin_dir=bin_dir,
                )
            finally:
                pwfile.unlink(missing_ok=True)
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
        if self._trusts_connections():
            self._convert_from_trust(echo)
        if not self.credentials_file.exists():
            self._create_app_role(echo)
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
        auth = ("trusts every local connection: run `assetmap db up` to require passwords"
                if self._trusts_connections() else f"passwords required; the app signs in as {self.credentials()[0]}")
        return f"{state} on 127.0.0.1:{self.port} ({self.data_dir}); {auth}"

    # --- authentication --------------------------------------------------------------------
    def _trusts_connections(self) -> bool:
        try:
            hba = self.hba_file.read_text()
        except (FileNotFoundError, PermissionError):
            return False
        return any(_TRUST.match(line) for line in hba.splitlines())

    def _superuser(self, password: str | None, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, password=password,
                               dbname=dbname, autocommit=True)

    def _convert_from_trust(self, echo) -> None:
        """Give the superuser a password, let the application use it, then stop trusting."""
        echo("this cluster trusts every local connection: setting passwords")
        password = secrets.token_hex(24)
        with self._superuser(None) as conn:
            conn.execute(f"ALTER ROLE {SUPERUSER} PASSWORD '{password}'")
        _write_private(self.superuser_password_file, password + "\n")
        if not self.credentials_file.exists():
            # Its databases and their objects belong to postgres: the application keeps that role.
            _write_private(self.credentials_file, json.dumps({"user": SUPERUSER, "password": password}) + "\n")
        hba = self.hba_file.read_text()
        self.hba_file.write_text("\n".join(_TRUST.sub(_no_trust, line) for line in hba.splitlines()) + "\n")
        self._pg("pg_ctl", "reload", "-D", str(self.data_dir), capture=True)

    def _create_app_role(self, echo) -> None:
        """The application's own role, and the extensions it needs in every new database."""
        echo(f"creating the application's database role {APP_ROLE}")
        password = secrets.token_hex(24)
        superuser_password = self.superuser_password_file.read_text().strip()
        with self._superuser(superuser_password) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(f"{verb} ROLE {APP_ROLE} LOGIN CREATEDB NOSUPERUSER PASSWORD '{password}'")
        with self._superuser(superuser_password, "template1") as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        _write_private(self.credentials_file, json.dumps({"user": APP_ROLE, "password": password}) + "\n")

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


_TRUST = re.compile(r"^\s*(local|host)\S*\s.*\strust\s*$")


def _no_trust(match: re.Match) -> str:
    line = match.group(0).rstrip()
    method = "peer" if match.group(1) == "local" else "scram-sha-256"
    return line[: -len("trust")] + method


def _write_private(path: Path, content: str) -> None:
    """Write a file only its owner can read (created so: never readable for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content.encode())
    finally:
        os.close(fd)


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
