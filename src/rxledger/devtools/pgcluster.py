"""A throwaway PostgreSQL cluster from the server binaries installed on this machine.

Tests and benchmarks start their own server (initdb + pg_ctl on a temporary directory and a free
port) so no result depends on a server someone else started. PostgreSQL refuses to run as root;
when we are root the cluster runs as the ``postgres`` system user that Debian's package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: $RXLEDGER_PG_BINDIR, PATH, or Debian's."""
    explicit = os.environ.get("RXLEDGER_PG_BINDIR")
    candidates = [explicit] if explicit else []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate) / "initdb").exists()
            and (Path(candidate) / "pg_ctl").exists()
        ):
            return Path(candidate)
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl) found; install the Debian package "
        "'postgresql' or set RXLEDGER_PG_BINDIR"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    """A running throwaway cluster; ``stop()`` removes every trace of it."""

    bindir: Path
    durable: bool = False
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rxledger-pg-")))
    user: str = "rxledger"
    _run_as: str | None = None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PgCluster:
        if os.geteuid() == 0:
            self._run_as = "postgres"
            try:
                owner = pwd.getpwnam(self._run_as)
            except KeyError as exc:
                raise PostgresUnavailable("running as root and no 'postgres' user exists") from exc
            os.chmod(self.root, 0o755)  # noqa: S103 - the postgres user must reach its data directory
            self.datadir.mkdir()
            os.chown(self.datadir, owner.pw_uid, owner.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            self.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.datadir}",
            "-c max_connections=200",
            "-c shared_buffers=256MB",
        ]
        if not self.durable:
            # Tests want speed, not durability; benchmarks start a durable cluster.
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.datadir / "server.log"),
            "-o",
            " ".join(options),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self) -> None:
        if self.datadir.exists():
            subprocess.run(  # noqa: S603
                self._command("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop"),
                check=False,
                capture_output=True,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bindir / program), *args]
        if self._run_as:
            return ["runuser", "-u", self._run_as, "--", *command]
        return command

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(  # noqa: S603
            self._command(program, *args), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            log = self.datadir / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed: {result.stderr or result.stdout}\n{tail}")


def start_cluster(*, durable: bool = False) -> PgCluster:
    return PgCluster(bindir=find_bindir(), durable=durable).start()
