"""A small HTTP load generator for the benchmarks: keep-alive connections on loopback,
a bounded number of requests, latency percentiles. It only ever targets 127.0.0.1."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    label: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))
        return ordered[index]

    def line(self) -> str:
        return (
            f"{self.label:38} {self.rps:8.1f} req/s   p50 {self.percentile(0.50):7.2f} ms   "
            f"p95 {self.percentile(0.95):7.2f} ms   mean {statistics.fmean(self.latencies_ms):7.2f} ms   errors {self.errors}"
        )


def run(
    label: str,
    port: int,
    path: str,
    *,
    host: str,
    cookie: str = "",
    total: int = 2000,
    concurrency: int = 4,
    expect: int = 200,
    warmup: int = 50,
    method: str = "GET",
    body: bytes | None = None,
    extra_headers: dict[str, str] | None = None,
) -> Result:
    headers = {"Host": host, **(extra_headers or {})}
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    remaining = [total]

    def worker(count_warmup: int) -> None:
        nonlocal errors
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(count_warmup):
            connection.request(method, path, body=body, headers=headers)
            connection.getresponse().read()
        while True:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if response.status != expect:
                    errors += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(warmup // concurrency,)) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(label, len(latencies), time.perf_counter() - started, latencies, errors)


def sample_every(
    port: int, path: str, *, host: str, cookie: str, interval: float, seconds: float, out: Any, expect: int = 200
) -> None:
    """GET ``path`` every ``interval`` seconds for ``seconds``; put "ready" on the queue
    ``out`` when it starts, then (latencies in ms, errors). Meant to run in a process of its
    own (multiprocessing's "spawn"), so that what it measures is the server's time, not a
    wait for the interpreter lock of a load generator busy with other threads."""
    headers = {"Host": host, "Cookie": cookie}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out.put("ready")
    latencies: list[float] = []
    errors = 0
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        errors += int(response.status != expect)
        time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    connection.close()
    out.put((latencies, errors))
