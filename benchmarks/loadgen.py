"""A small, bounded HTTP load generator for loopback benchmarks (threads + http.client).

Every loop is bounded in both request count and time, and only 127.0.0.1 is ever targeted.
"""
from __future__ import annotations

import http.client
import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # connection failures (no HTTP status at all)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def add(self, kind: str, status: int | None, ms: float) -> None:
        if status is None:
            self.errors += 1
            return
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies_ms.append(ms)
        self.by_kind.setdefault(kind, []).append(ms)

    @property
    def count(self) -> int:
        return len(self.latencies_ms) + self.errors

    def pct(self, p: float, values: list[float] | None = None) -> float:
        values = sorted(values if values is not None else self.latencies_ms)
        if not values:
            return float("nan")
        k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
        return values[k]

    def summary(self) -> str:
        lines = [
            f"requests {self.count} in {self.elapsed_s:.1f} s = {self.count / max(self.elapsed_s, 1e-9):.1f} req/s; "
            f"p50 {self.pct(50):.1f} ms, p95 {self.pct(95):.1f} ms, p99 {self.pct(99):.1f} ms; "
            f"statuses {dict(sorted(self.statuses.items()))}; connection errors {self.errors}"
        ]
        for kind, values in sorted(self.by_kind.items()):
            lines.append(f"  {kind}: n={len(values)} p50 {statistics.median(values):.1f} ms "
                         f"p99 {self.pct(99, values):.1f} ms")
        return "\n".join(lines)


def run(base_url: str, pick: Callable[[random.Random], tuple[str, str]], clients: int, seconds: float,
        max_requests: int = 200_000, seed: int = 1) -> Result:
    """``clients`` threads each send ``pick(rng) -> (kind, path)`` GETs until ``seconds`` pass or
    ``max_requests`` have been sent in all."""
    parts = urlsplit(base_url)
    assert parts.hostname in ("127.0.0.1", "localhost"), "loopback only"
    result = Result()
    lock = threading.Lock()
    sent = [0]
    deadline = time.monotonic() + seconds

    def worker(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= max_requests:
                    break
                sent[0] += 1
            kind, path = pick(rng)
            t = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = None
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            ms = (time.perf_counter() - t) * 1000
            with lock:
                result.add(kind, status, ms)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    result.elapsed_s = time.monotonic() - started
    return result
