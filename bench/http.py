# ruff: noqa: A005 - bench.http, run as ``python -m bench.http``, never imported as ``http``
"""HTTP API throughput: single-line dispenses from many keep-alive clients against the real server.

For each engine: a fresh migrated database, the benchmark pharmacy built and stocked through the
services, a technician with an API token made through the identity service, and the raw durable
write baseline of the ledger benchmark (``bench.posting.RawWrites``) measured first on the same
database server. Then ``rxledger serve`` runs as a subprocess, as an operator would start it, with
1 or more worker processes; after a warm-up, ``clients`` concurrent connections each post one
single-line dispense after another (``POST /api/v1/documents/dispenses`` with a bearer token and an
``Idempotency-Key``) for the given time. Finally ``rxledger check`` runs against the database.

The load generator shares the machine's cores with the server and the database, so it is a small
asyncio HTTP/1.1 client over raw streams: one pre-built request per call, the status line, the
headers and a Content-Length body read back. Its own CPU per request is measured and reported, as
is the CPU of the server processes and of the PostgreSQL backends during the timed window.

``python -m bench.http --engines postgresql,sqlite --seconds 10 --server-workers 1,2``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select

from bench.databases import ENGINES, Databases
from bench.machine import describe, load_average
from bench.network import Pharmacy, build_pharmacy
from bench.posting import WARM_UP_SECONDS as RAW_WARM_UP_SECONDS
from bench.posting import RawWrites, _stock_up
from bench.stats import Latency, Throughput, run_workers
from rxledger.adapters import tables as t
from rxledger.devtools.pgcluster import free_port
from rxledger.domain.clock import SystemClock
from rxledger.domain.permissions import Grant, Role
from rxledger.services import identity
from rxledger.services.runtime import Runtime, SecurityPolicy

# The targets, on PostgreSQL.
MIN_PER_SECOND = 1_000.0
MAX_P99_MS = 50.0

PATH = "/api/v1/documents/dispenses"
REFUSED_CODE = "INSUFFICIENT_STOCK"  # the one refusal that is not an error
HOST = "127.0.0.1"
WARM_UP_SECONDS = 2.0
CONNECT_INTERVAL_SECONDS = 0.02
START_TIMEOUT_SECONDS = 60.0
USERNAME = "bench-technician"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cpu:
    """CPU seconds spent during the timed window, by whom; ``machine`` is every process."""

    client: float  # this process: the load generator
    server: float  # the server process and its workers
    database: float  # the PostgreSQL postmaster and its backends (0 on SQLite: it is in-process)
    machine: float  # all CPUs busy time, other people's work included
    machine_capacity: float  # cores x window


@dataclass(frozen=True)
class HttpRun:
    """One server configuration under load for the timed window."""

    server_workers: int
    clients: int
    requests: int
    seconds: float
    latency: Latency
    outcomes: dict[str, int]  # "201", "409 INSUFFICIENT_STOCK", "500 INTERNAL_ERROR", ...
    acknowledged: int  # 2xx over warm-up and timed window
    documents_added: int  # dispense documents in the database afterwards minus before
    db_sessions: int  # PostgreSQL sessions the server opened, warm-up included (0 on SQLite)
    cpu: Cpu
    load_average: list[float]  # at the end of the timed window
    connections_per_worker: list[int]  # the clients' connections held by each server worker

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def created(self) -> int:
        return sum(n for k, n in self.outcomes.items() if k.startswith("2"))

    @property
    def refused(self) -> int:
        return sum(n for k, n in self.outcomes.items() if k in _REFUSED)

    @property
    def errors(self) -> int:
        """Every other answer, and connections that failed."""
        return sum(self.outcomes.values()) - self.created - self.refused

    def cpu_ms_per_request(self, who: str) -> float:
        return 1000.0 * getattr(self.cpu, who) / self.requests if self.requests else 0.0


_REFUSED = {f"409 {REFUSED_CODE}", f"422 {REFUSED_CODE}"}


@dataclass(frozen=True)
class CheckResult:
    clean: bool
    exit_code: int
    output: str


@dataclass(frozen=True)
class HttpResult:
    engine: str
    items: int
    raw: Throughput
    raw_database_cpu_seconds: float  # PostgreSQL's CPU during the raw run (0 on SQLite)
    runs: tuple[HttpRun, ...]
    check: CheckResult

    @property
    def raw_database_cpu_ms(self) -> float:
        """PostgreSQL CPU per raw transaction, milliseconds."""
        ops = self.raw.operations
        return 1000.0 * self.raw_database_cpu_seconds / ops if ops else 0.0

    @property
    def best(self) -> HttpRun:
        return max(self.runs, key=lambda r: r.per_second)


# --- the benchmark ------------------------------------------------------------------------------


@dataclass
class _Setup:
    url: str
    secret_key: str
    token: str
    pharmacy: Pharmacy
    bodies: list[bytes] = field(default_factory=list)


def run(
    dbs: Databases,
    engine: str,
    *,
    clients: int = 32,
    seconds: float = 10.0,
    server_workers: tuple[int, ...] = (1, 2),
    items: int = 200,
    raw_workers: int = 16,
    idempotency_keys: bool = True,
    profile: Path | None = None,
    log: Any = print,
) -> HttpResult:
    """Build, measure the raw baseline, then one server per worker count under load; check.

    With ``profile`` (a folder), py-spy samples the server processes through each timed window
    and writes its raw collapsed stacks there (py-spy on PATH or ``$PY_SPY``)."""
    with dbs.engine(engine, "http") as db:
        setup = _prepare(db, items)
        log(f"{engine}: raw durable-write baseline, {raw_workers} workers, {seconds} s")
        raw_writes = RawWrites(db, rows=items)
        try:
            write = lambda n: raw_writes.operation(n, hot=False)  # noqa: E731
            run_workers(write, raw_workers, RAW_WARM_UP_SECONDS)
            postmaster = _postmaster(dbs) if engine == "postgresql" else None
            before_raw = _tree_cpu(_process_stats(), postmaster) if postmaster else 0.0
            raw = run_workers(write, raw_workers, seconds)
            raw_db = (_tree_cpu(_process_stats(), postmaster) - before_raw) if postmaster else 0.0
        finally:
            raw_writes.close()
        runs = []
        for workers in server_workers:
            log(f"{engine}: rxledger serve --workers {workers}, {clients} clients, {seconds} s")
            before, sessions = _dispenses(db), _sessions(db)
            with _Server(setup, workers) as server:
                run_ = _load(
                    setup,
                    server,
                    dbs,
                    clients=clients,
                    seconds=seconds,
                    idempotency_keys=idempotency_keys,
                    profile=profile / f"{engine}-{workers}w.txt" if profile else None,
                )
            added = _dispenses(db) - before
            runs.append(replace(run_, documents_added=added, db_sessions=_sessions(db) - sessions))
        log(f"{engine}: rxledger check")
        check = _check(setup.url)
    return HttpResult(engine, items, raw, raw_db, tuple(runs), check)


def _prepare(db: Engine, items: int) -> _Setup:
    """The pharmacy and its stock, and a technician with an API token, through the services."""
    secret_key = secrets.token_urlsafe(36)
    rt = Runtime(engine=db, clock=SystemClock(), security=SecurityPolicy(secret_key=secret_key))
    pharmacy = build_pharmacy(rt, items)
    _stock_up(pharmacy)
    identity.create_user(
        rt,
        pharmacy.actor,
        username=USERNAME,
        full_name="Bench Technician",
        password=secrets.token_urlsafe(16),
        grants=(Grant(Role.TECHNICIAN, pharmacy.site.id),),
    )
    technician = identity.user_actor(rt, pharmacy.actor.organization_id, USERNAME)
    token, _ = identity.create_token(rt, technician, "http benchmark")
    url = db.url.render_as_string(hide_password=False)
    setup = _Setup(url, secret_key, token, pharmacy)
    setup.bodies = [
        json.dumps(
            {
                "site_id": pharmacy.site.id,
                "location_id": pharmacy.home(item).id,
                "reference": "RX-BENCH",
                "lines": [{"item_id": item.id, "quantity": 1}],
            },
            separators=(",", ":"),
        ).encode()
        for item in pharmacy.items
    ]
    return setup


def _dispenses(db: Engine) -> int:
    with db.connect() as conn:
        d = t.documents
        count = conn.execute(
            select(func.count()).select_from(d).where(d.c.doc_type == "dispense")
        ).scalar_one()
    return int(count)


def _sessions(db: Engine) -> int:
    """PostgreSQL sessions ever opened on this database (-1 on SQLite): a server whose pool is
    smaller than its concurrency opens and closes connections all the time."""
    if db.dialect.name != "postgresql":
        return -1
    with db.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        count = conn.exec_driver_sql(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).scalar_one()
    return int(count)


class _Server:
    """``rxledger serve`` in a subprocess on a free port, stopped (SIGTERM) on exit."""

    def __init__(self, setup: _Setup, workers: int) -> None:
        self.setup = setup
        self.workers = workers
        self.port = free_port()
        self._log = tempfile.NamedTemporaryFile(prefix="rxledger-serve-", suffix=".log")  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _Server:
        env = os.environ | {
            "RXLEDGER_DATABASE_URL": self.setup.url,
            "RXLEDGER_SECRET_KEY": self.setup.secret_key,
            "RXLEDGER_ENV": "production",
        }
        self.process = subprocess.Popen(
            [
                *_rxledger(),
                *("serve", "--host", HOST, "--port", str(self.port)),
                *("--workers", str(self.workers), "--log-level", "warning"),
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *_: object) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

    def _wait_until_ready(self) -> None:
        """Until every worker could answer: GET /api/v1/me with the token returns 200."""
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        request = urllib.request.Request(
            f"http://{HOST}:{self.port}/api/v1/me",
            headers={"Authorization": f"Bearer {self.setup.token}"},
        )
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rxledger serve exited: {self.output()}")
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"rxledger serve did not answer in time: {self.output()}")

    def output(self) -> str:
        return Path(self._log.name).read_text(errors="replace")[-3000:]


def _rxledger() -> list[str]:
    """The ``rxledger`` command installed beside this interpreter, else ``python -m rxledger``."""
    script = Path(sys.executable).parent / "rxledger"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rxledger"]


def _check(url: str) -> CheckResult:
    result = subprocess.run(
        [*_rxledger(), "check"],
        env=os.environ | {"RXLEDGER_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    output = (result.stdout + result.stderr).strip()
    return CheckResult(result.returncode == 0, result.returncode, output[-2000:])


# --- the load generator -------------------------------------------------------------------------


class _Phase:
    """Shared by the clients: whether to record, when to stop, and what was seen."""

    def __init__(self) -> None:
        self.recording_since: float | None = None
        self.stop = False
        self.latencies: list[float] = []
        self.outcomes: Counter[str] = Counter()
        self.acknowledged = 0
        self.last_done = 0.0


def _load(
    setup: _Setup,
    server: _Server,
    dbs: Databases,
    *,
    clients: int,
    seconds: float,
    idempotency_keys: bool,
    profile: Path | None,
) -> HttpRun:
    assert server.process is not None
    return asyncio.run(
        _drive(
            setup,
            server.port,
            server.process.pid,
            _postmaster(dbs) if setup.url.startswith("postgresql") else None,
            clients=clients,
            seconds=seconds,
            idempotency_keys=idempotency_keys,
            server_workers=server.workers,
            profile=profile,
        )
    )


async def _drive(
    setup: _Setup,
    port: int,
    server_pid: int,
    postmaster_pid: int | None,
    *,
    clients: int,
    seconds: float,
    idempotency_keys: bool,
    server_workers: int,
    profile: Path | None = None,
) -> HttpRun:
    phase = _Phase()
    prefix = (
        f"POST {PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Authorization: Bearer {setup.token}\r\nContent-Type: application/json\r\n"
    ).encode()
    run_id = secrets.token_hex(4)
    connections = []
    for _ in range(clients):
        # One at a time, to an idle server: a burst of connections, or connections made while a
        # worker is busy, go mostly to one worker (whichever accepts first takes them all).
        connections.append(await asyncio.open_connection(HOST, port))
        await asyncio.sleep(CONNECT_INTERVAL_SECONDS)
    key_prefix = run_id if idempotency_keys else None
    tasks = [
        asyncio.create_task(_client(n, port, c, prefix, setup.bodies, phase, key_prefix))
        for n, c in enumerate(connections)
    ]
    await asyncio.sleep(WARM_UP_SECONDS)
    spread = _connections_per_worker(server_pid, port)
    profiler = _py_spy(server_pid, seconds, profile) if profile else None
    start = _cpu_snapshot(server_pid, postmaster_pid)
    phase.recording_since = time.perf_counter()
    await asyncio.sleep(seconds)
    phase.stop = True
    await asyncio.gather(*tasks)
    end = _cpu_snapshot(server_pid, postmaster_pid)
    if profiler is not None:
        await asyncio.to_thread(profiler.wait)
    elapsed = phase.last_done - phase.recording_since
    used = [b - a for a, b in zip(start[:4], end[:4], strict=True)]
    cpu = Cpu(used[0], used[1], used[2], used[3], machine_capacity=end[4] * elapsed)
    return HttpRun(
        server_workers=server_workers,
        clients=clients,
        requests=len(phase.latencies),
        seconds=elapsed,
        latency=Latency.of(phase.latencies or [0.0]),
        outcomes=dict(phase.outcomes),
        acknowledged=phase.acknowledged,
        documents_added=0,
        db_sessions=0,
        cpu=cpu,
        load_average=load_average(),
        connections_per_worker=spread,
    )


async def _client(
    n: int,
    port: int,
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    prefix: bytes,
    bodies: list[bytes],
    phase: _Phase,
    run_id: str | None,
) -> None:
    """One keep-alive connection posting dispenses back to back; reconnects if the server hangs
    up."""
    rng = random.Random(n)
    sent = 0
    reader, writer = connection
    try:
        while not phase.stop:
            body = rng.choice(bodies)
            sent += 1
            key = f"Idempotency-Key: bench-{run_id}-{n}-{sent}\r\n".encode() if run_id else b""
            request = b"%s%sContent-Length: %d\r\n\r\n%s" % (prefix, key, len(body), body)
            began = time.perf_counter()
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status, length, close = _parse_head(head)
                payload = await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                outcome, close = f"connection {type(exc).__name__}", True
            else:
                outcome = str(status) if 200 <= status < 300 else f"{status} {_code(payload)}"
            done = time.perf_counter()
            if outcome.startswith("2"):
                phase.acknowledged += 1
            if phase.recording_since is not None and began >= phase.recording_since:
                phase.latencies.append(done - began)
                phase.outcomes[outcome] += 1
                phase.last_done = max(phase.last_done, done)
            if close:
                writer.close()
                reader, writer = await _reconnect(port, phase)
    finally:
        writer.close()


async def _reconnect(port: int, phase: _Phase) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A new connection after the server closed one; refused attempts count as errors."""
    while True:
        try:
            return await asyncio.open_connection(HOST, port)
        except OSError as exc:
            if phase.recording_since is not None:
                phase.outcomes[f"connect {type(exc).__name__}"] += 1
            await asyncio.sleep(0.05)


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server will close the connection."""
    status = int(head[9:12])
    length, close = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    return status, length, close


def _code(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("code", "?"))
    except (ValueError, AttributeError):
        return "?"


def _py_spy(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """Sample the server and its worker processes as raw stacks: only the thread holding the GIL,
    so the samples are where the interpreter spends its CPU, not where threads wait."""
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [os.environ.get("PY_SPY", "py-spy"), "record", "--pid", str(pid)]
    command += ["--subprocesses", "--gil", "--nonblocking", "--rate", "250", "--format", "raw"]
    command += ["--duration", str(max(1, round(seconds))), "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- CPU accounting from /proc ------------------------------------------------------------------


def _postmaster(dbs: Databases) -> int | None:
    if dbs.cluster is None:
        return None
    pid_file = dbs.cluster.datadir / "postmaster.pid"
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _cpu_snapshot(server_pid: int, postmaster_pid: int | None) -> tuple[float, ...]:
    """(client, server tree, postgres tree, machine busy) CPU seconds so far, and the cores."""
    stats = _process_stats()
    times = os.times()
    client = times.user + times.system
    server = _tree_cpu(stats, server_pid)
    database = _tree_cpu(stats, postmaster_pid) if postmaster_pid else 0.0
    busy, cores = _machine_busy()
    return client, server, database, busy, float(cores)


def _process_stats() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, user + system CPU seconds) of every live process."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        # fields[0] is field 3 of stat (state): ppid is field 4, utime 14, stime 15, and cutime 16
        # and cstime 17 hold the children that ended and were reaped (closed PostgreSQL backends).
        ticks = sum(int(f) for f in fields[11:15])
        stats[int(entry.name)] = (int(fields[1]), ticks / _CLK_TCK)
    return stats


def _tree_cpu(stats: dict[int, tuple[int, float]], root: int) -> float:
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo.extend(children.get(pid, ()))
    return total


def _connections_per_worker(server_pid: int, port: int) -> list[int]:
    """Established connections to the server's port held by each worker (each process of the
    server's tree without children), from /proc/net/tcp and the processes' descriptors."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rpartition(":")[2], 16)
        if local_port == port and fields[3] == "01":  # ESTABLISHED
            inodes.add(fields[9])
    stats = _process_stats()
    parents = {parent for parent, _ in stats.values()}
    tree, todo = [], [server_pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(child for child, (parent, _) in stats.items() if parent == pid)
    counts = []
    for pid in sorted(p for p in tree if p not in parents):
        try:
            if b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue  # multiprocessing's helper beside uvicorn's workers
            links = [os.readlink(entry.path) for entry in os.scandir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        counts.append(sum(1 for link in links if link[8:-1] in inodes and link[:8] == "socket:["))
    return counts


def _machine_busy() -> tuple[float, int]:
    """All CPUs' non-idle seconds since boot (from /proc/stat), and the number of CPUs."""
    lines = Path("/proc/stat").read_text().splitlines()
    values = [int(v) for v in lines[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    cores = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    return (sum(values[:8]) - idle) / _CLK_TCK, cores


# --- report -------------------------------------------------------------------------------------


def verdicts(results: dict[str, HttpResult]) -> list[str]:
    """The issue's targets, on PostgreSQL, for the best worker count."""
    if "postgresql" not in results:
        return []
    result = results["postgresql"]
    best = result.best
    errors = sum(r.errors for r in result.runs)
    return [
        (
            f"{_mark(best.per_second >= MIN_PER_SECOND)} PostgreSQL HTTP dispenses "
            f"{best.per_second:,.0f}/s with {best.server_workers} server worker(s) "
            f"(target at least {MIN_PER_SECOND:,.0f})"
        ),
        (
            f"{_mark(best.latency.p99 <= MAX_P99_MS)} PostgreSQL HTTP p99 "
            f"{best.latency.p99:.1f} ms (target at most {MAX_P99_MS:.0f} ms)"
        ),
        f"{_mark(errors == 0)} PostgreSQL errors other than {REFUSED_CODE}: {errors}",
        f"{_mark(result.check.clean)} rxledger check after the PostgreSQL runs",
    ]


def _mark(ok: bool) -> str:
    return "[green]MET   [/]" if ok else "[red]MISSED[/]"


def table(results: dict[str, HttpResult]) -> Table:
    """One row per engine and server worker count, with the raw baseline of the same run."""
    clients = next((r.runs[0].clients for r in results.values() if r.runs), 0)
    title = f"HTTP API: single-line dispenses, {clients} keep-alive clients, vs raw durable writes"
    out = Table(title=title)
    columns = ("engine", "run", "workers", "count", "per s", "p50 ms", "p95 ms", "p99 ms")
    for column in columns:
        out.add_column(column, justify="left" if column in ("engine", "run") else "right")
    for column in ("of raw", "refused", "errors", "CPU ms/req client/server/db", "check"):
        out.add_column(column, justify="right")
    for engine, result in results.items():
        raw = result.raw
        out.add_row(
            engine,
            "raw INSERT+UPDATE",
            f"{raw.workers} thr",
            f"{raw.operations:,}",
            f"{raw.per_second:,.0f}",
            f"{raw.latency.p50:.1f}",
            f"{raw.latency.p95:.1f}",
            f"{raw.latency.p99:.1f}",
            "",
            "",
            "",
            f"{raw.cpu_ms_per_operation:.2f}/-/{_db_ms(engine, result.raw_database_cpu_ms)}",
            "",
        )
        for r in result.runs:
            out.add_row(
                engine,
                "HTTP dispense",
                f"{r.server_workers} proc",
                f"{r.requests:,}",
                f"{r.per_second:,.0f}",
                f"{r.latency.p50:.1f}",
                f"{r.latency.p95:.1f}",
                f"{r.latency.p99:.1f}",
                f"{r.per_second / raw.per_second:.1%}" if raw.per_second else "",
                f"{r.refused:,}",
                f"{r.errors:,}",
                f"{r.cpu_ms_per_request('client'):.2f}/{r.cpu_ms_per_request('server'):.2f}/"
                f"{_db_ms(engine, r.cpu_ms_per_request('database'))}",
                "clean" if result.check.clean else "[red]NOT CLEAN[/]",
            )
    return out


def _db_ms(engine: str, ms: float) -> str:
    """SQLite runs inside the server (or the raw baseline's) process: no separate figure."""
    return "-" if engine == "sqlite" else f"{ms:.2f}"


def print_report(console: Console, results: dict[str, HttpResult]) -> None:
    console.print(table(results))
    for result in results.values():
        for r in result.runs:
            busy = r.cpu.machine / r.cpu.machine_capacity if r.cpu.machine_capacity else 0.0
            ours = (r.cpu.client + r.cpu.server + r.cpu.database) / r.cpu.machine_capacity
            console.print(
                f"{result.engine}, {r.server_workers} worker(s), connections per worker "
                f"{r.connections_per_worker}: machine CPU {busy:.0%} busy "
                f"({ours:.0%} ours), load average {r.load_average}, outcomes {r.outcomes}, "
                f"2xx acknowledged {r.acknowledged:,} = dispenses added {r.documents_added:,}: "
                f"{'yes' if r.acknowledged == r.documents_added else '[red]NO[/]'}"
                + (f", database sessions opened {r.db_sessions:,}" if r.db_sessions else "")
            )
        if not result.check.clean:
            console.print(f"[red]rxledger check ({result.engine})[/]: {result.check.output}")
    for verdict in verdicts(results):
        console.print(verdict)


def as_json(results: dict[str, HttpResult]) -> dict[str, Any]:
    """The figures with every percentile, JSON-able."""
    return {
        engine: {
            "items": result.items,
            "raw": {
                **asdict(result.raw),
                "per_second": result.raw.per_second,
                "cpu_ms_per_operation": result.raw.cpu_ms_per_operation,
                "database_cpu_ms_per_operation": result.raw_database_cpu_ms,
            },
            "runs": [
                {
                    **asdict(r),
                    "per_second": r.per_second,
                    "created": r.created,
                    "refused": r.refused,
                    "errors": r.errors,
                    "of_raw": r.per_second / result.raw.per_second,
                    "cpu_ms_per_request": {
                        who: r.cpu_ms_per_request(who) for who in ("client", "server", "database")
                    },
                }
                for r in result.runs
            ],
            "best_server_workers": result.best.server_workers,
            "check": asdict(result.check),
        }
        for engine, result in results.items()
    } | {"verdicts": verdicts(results)}


# --- standalone ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    console = Console(width=170)
    engines = tuple(args.engines.split(","))
    load_at_start = load_average()
    dbs = Databases(engines)
    results: dict[str, HttpResult] = {}
    try:
        for engine in engines:
            results[engine] = run(
                dbs,
                engine,
                clients=args.clients,
                seconds=args.seconds,
                server_workers=tuple(int(n) for n in args.server_workers.split(",")),
                items=args.items,
                raw_workers=args.raw_workers,
                idempotency_keys=not args.no_idempotency_keys,
                profile=args.profile,
                log=console.log,
            )
        machine = describe(dbs.versions, load_at_start)
    finally:
        dbs.close()
    console.print(
        f"{machine['date']}, {machine['nproc']} CPUs, load average "
        f"{machine['load_average_at_start']} at start, {machine['load_average_at_end']} at end; "
        f"rxledger {machine['commit']}"
    )
    print_report(console, results)
    if args.output:
        document = {"machine": machine, "settings": vars(args) | {"output": str(args.output)}}
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            json.dumps(document | {"http": as_json(results)}, indent=2, default=str) + "\n"
        )
        console.print(f"JSON: {args.output}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__)
    parser.add_argument("--engines", default=",".join(reversed(ENGINES)), help="postgresql,sqlite")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed run per worker count")
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive clients")
    parser.add_argument("--server-workers", default="1,2", help="rxledger serve --workers: 1,2")
    parser.add_argument("--items", type=int, default=200, help="items the dispenses spread over")
    parser.add_argument("--raw-workers", type=int, default=16, help="threads of the raw baseline")
    parser.add_argument(
        "--no-idempotency-keys", action="store_true", help="send no Idempotency-Key header"
    )
    parser.add_argument("--profile", type=Path, help="folder for py-spy stacks of the server")
    parser.add_argument(
        "--output",
        type=Path,
        nargs="?",
        const=Path(__file__).parent / "results" / f"http-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json",
        help="write JSON (default path bench/results/http-<time>.json when given without a value)",
    )
    return parser


if __name__ == "__main__":
    main()
