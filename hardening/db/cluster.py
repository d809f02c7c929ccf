"""The managed local PostgreSQL cluster: initdb + pg_ctl on a Unix socket in the state folder.

Used when HARDENING_DATABASE_URL is unset. PostgreSQL refuses to run as root, so when started by
root the cluster runs as the unprivileged OS user `hardening` (created if missing).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hardening.errors import SetupError

SERVICE_OS_USER = "hardening"
SUPERUSER = "postgres"
INSTALL_HINT = (
    "PostgreSQL with PostGIS is not installed. Install it with "
    "`sudo apt-get install postgresql postgis` (Debian/Ubuntu) or `brew install postgis` (macOS), "
    "or set HARDENING_DATABASE_URL to an existing PostGIS server."
)
# A Unix socket path must fit in sockaddr_un (108 bytes with the terminator).
MAX_SOCKET_PATH = 100


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.name.split(".") if part.isdigit())


def find_bindir() -> Path:
    """The newest PostgreSQL bin directory whose server also has PostGIS installed."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    for root in (Path("/usr/lib/postgresql"), Path("/usr/local/lib/postgresql")):
        if root.is_dir():
            versions = sorted(root.iterdir(), key=_version_key, reverse=True)
            candidates.extend(v / "bin" for v in versions)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists() and _has_postgis(bindir):
            return bindir
    raise SetupError(INSTALL_HINT)


def _has_postgis(bindir: Path) -> bool:
    version = bindir.parent.name  # Debian: /usr/lib/postgresql/15/bin
    shares = [Path(f"/usr/share/postgresql/{version}/extension")]
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([pg_config, "--sharedir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            shares.append(Path(out.stdout.strip()) / "extension")
    return any((share / "postgis.control").exists() for share in shares)


@dataclass(frozen=True)
class ManagedCluster:
    state_dir: Path

    @property
    def _runs_as_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def base_dir(self) -> Path:
        """Where data, socket and log live; outside the project only if the service user
        cannot reach the project (e.g. a checkout under /root)."""
        preferred = self.state_dir / "postgres"
        if not self._runs_as_root or self._reachable_by_service_user(self.state_dir):
            return preferred
        digest = hashlib.sha1(str(self.state_dir).encode()).hexdigest()[:10]
        return Path("/var/lib/hardening") / digest

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        preferred = self.base_dir / "run"
        if len(str(preferred / ".s.PGSQL.5432")) <= MAX_SOCKET_PATH:
            return preferred
        digest = hashlib.sha1(str(self.base_dir).encode()).hexdigest()[:10]
        return Path("/tmp") / f"hardening-{digest}"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}"

    # -- running commands as the right OS user -------------------------------------------
    def _service_user(self) -> pwd.struct_passwd | None:
        if not self._runs_as_root:
            return None
        try:
            return pwd.getpwnam(SERVICE_OS_USER)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SERVICE_OS_USER,
                ],
                check=True,
                capture_output=True,
            )
            return pwd.getpwnam(SERVICE_OS_USER)

    def _reachable_by_service_user(self, path: Path) -> bool:
        user = self._service_user()
        existing = path
        while not existing.exists():
            existing = existing.parent
        probe = subprocess.run(
            ["test", "-x", str(existing)],
            check=False,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
        )
        return probe.returncode == 0

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        user = self._service_user()
        kwargs: dict[str, object] = {}
        if user is not None:
            kwargs = {
                "user": user.pw_uid,
                "group": user.pw_gid,
                "extra_groups": [],
                "env": {**os.environ, "HOME": str(self.base_dir)},
            }
        result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
        if check and result.returncode != 0:
            raise SetupError(
                f"{Path(args[0]).name} failed: {(result.stderr or result.stdout).strip()}"
            )
        return result  # type: ignore[no-any-return]

    def _prepare_dirs(self) -> None:
        user = self._service_user()
        for directory in (self.base_dir, self.socket_dir):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
            if user is not None:
                os.chown(directory, user.pw_uid, user.pw_gid)

    # -- lifecycle -------------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        bindir = find_bindir()
        return (
            self._run(
                [str(bindir / "pg_ctl"), "status", "-D", str(self.data_dir)], check=False
            ).returncode
            == 0
        )

    def up(self) -> bool:
        """Initialise if needed and start; returns False when it was already running."""
        bindir = find_bindir()
        self._prepare_dirs()
        if not self.is_initialised():
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        if self.is_running():
            return False
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}' "
            "-c shared_buffers=256MB -c work_mem=32MB -c maintenance_work_mem=256MB "
            "-c max_wal_size=2GB -c fsync=on"
        )
        self._run(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.log_file),
                "-o",
                options,
            ]
        )
        return True

    def down(self) -> bool:
        if not self.is_running():
            return False
        self._run(
            [str(find_bindir() / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"]
        )
        return True
