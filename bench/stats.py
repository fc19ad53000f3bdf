"""Timing helpers: latency percentiles and a pool of worker threads run for a fixed time."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Latency:
    """Latency percentiles in milliseconds."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        ms = np.asarray(seconds) * 1000.0
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        return cls(len(ms), float(p50), float(p95), float(p99), float(ms.max()))


@dataclass(frozen=True)
class Throughput:
    """What a pool of workers did in a fixed time: operations per second and their latency."""

    workers: int
    operations: int
    seconds: float
    latency: Latency
    cpu_seconds: float  # CPU time of this whole process (every thread) while the workers ran

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds

    @property
    def cpu_ms_per_operation(self) -> float:
        """Client CPU per operation: with one interpreter lock, 1000 / this bounds ops/s."""
        return 1000.0 * self.cpu_seconds / self.operations


Operation = Callable[[], None]


def run_workers(
    make_operation: Callable[[int], Operation], workers: int, seconds: float
) -> Throughput:
    """Run ``workers`` threads, each repeating its operation until the time is up.

    Each worker builds its operation first (a connection, say), then all start together; the clock
    stops when the last one has finished the operation it was in.
    """
    window: dict[str, float] = {}

    def open_window() -> None:
        window["cpu"] = _cpu()
        window["began"] = time.perf_counter()
        window["deadline"] = window["began"] + seconds

    start = threading.Barrier(workers + 1, action=open_window)
    latencies: list[list[float]] = [[] for _ in range(workers)]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            operation = make_operation(n)
        except BaseException as exc:
            errors.append(exc)
            start.abort()
            raise
        start.wait()
        mine = latencies[n]
        deadline = window["deadline"]
        try:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                operation()
                mine.append(time.perf_counter() - began)
        except BaseException as exc:
            errors.append(exc)
            raise

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()  # broken when a worker could not start; its error is raised below
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - window["began"]
    cpu = _cpu() - window["cpu"]
    if errors:
        raise errors[0]
    every = [s for mine in latencies for s in mine]
    return Throughput(workers, len(every), elapsed, Latency.of(every), cpu)


def _cpu() -> float:
    times = os.times()
    return times.user + times.system
