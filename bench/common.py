"""Small helpers every benchmark uses: percentiles, a printed table, peak RSS and CPU sampling, services."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from service_kit.settings import MongoSettings, RabbitSettings, S3Settings
from tests.e2e.processes import Service, start_service, wait_http_ok
from tests.keyrings import use_test_keyring
from tests.ports import free_port

use_test_keyring()  # the API and the processors it starts need a master keyring


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def ms(samples: Sequence[float], q: float) -> str:
    """The q-th percentile of ``samples`` (seconds) in whole milliseconds."""
    return f"{percentile(samples, q) * 1000:,.0f}"


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, so the output can be pasted into the README as it is."""
    cells = [[str(c) for c in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class RssSampler:
    """Samples a process's resident memory every ``interval`` seconds while running."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self.latest_mb = 0.0
        self.peak_mb = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                self.latest_mb = self._process.memory_info().rss / 2**20
            except psutil.Error:
                return
            self.peak_mb = max(self.peak_mb, self.latest_mb)
            await asyncio.sleep(self._interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def cpu_seconds(process: psutil.Process) -> float:
    """User plus system CPU time the process has used so far."""
    times = process.cpu_times()
    return float(times.user + times.system)


class ProcessWatch:
    """Peak resident memory and CPU share (of one core) of one process over a phase of a benchmark."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._rss = RssSampler(pid)
        self._cpu_before = 0.0
        self._started = 0.0
        self.cpu_share = 0.0

    @property
    def peak_mb(self) -> float:
        return self._rss.peak_mb

    def start(self) -> None:
        self._rss.start()
        self._cpu_before = cpu_seconds(self._process)
        self._started = time.perf_counter()

    async def stop(self) -> None:
        await self._rss.stop()
        elapsed = time.perf_counter() - self._started
        self.cpu_share = (cpu_seconds(self._process) - self._cpu_before) / elapsed if elapsed else 0.0


def start_watches(services: Sequence[Service]) -> dict[str, ProcessWatch]:
    """Watches, started, over the services, this benchmark's own process and the shared local servers."""
    watches = {service.name: ProcessWatch(service.process.pid) for service in services}
    watches["bench (people + fake Telegram)"] = ProcessWatch(os.getpid())
    # Shared with other work on this machine: their CPU includes whatever else used them meanwhile.
    watches.update({f"{name} (shared server)": ProcessWatch(pid) for name, pid in shared_server_pids().items()})
    for watch in watches.values():
        watch.start()
    return watches


async def stop_watches(watches: Mapping[str, ProcessWatch]) -> None:
    for watch in watches.values():
        await watch.stop()


async def start_serving(
    name: str, module: str, env: Mapping[str, str], log_dir: Path, *args: str
) -> tuple[Service, str]:
    """``python -m module *args`` on loopback, returned once its /healthz answers, with its base URL.

    It listens on ``env["HTTP_PORT"]`` when given (the bot must know its port for its webhook URL), else on
    a free port."""
    port = int(env.get("HTTP_PORT") or free_port())
    service = await start_service(
        name, module, {"HTTP_HOST": "127.0.0.1", **env, "HTTP_PORT": str(port)}, log_dir, *args
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_http_ok(base_url + "/healthz", service)
    except AssertionError:
        await service.stop()
        raise
    return service, base_url


def listener_pid(port: int) -> int | None:
    """The process listening on TCP ``port`` (None when there is none or it is not visible to this user)."""
    for connection in psutil.net_connections("tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
            return connection.pid
    return None


def shared_server_pids() -> dict[str, int]:
    """The local servers the services use (their load shows where a bottleneck is), by the test settings."""
    ports = {
        "SecantusDB": urlsplit(MongoSettings().url.get_secret_value()).port,
        "RabbitMQ": RabbitSettings().stream_port,
        "moto S3": int(S3Settings().endpoint.rsplit(":", 1)[1]),
        "Redis": urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")).port,
    }
    pids = {name: listener_pid(port) for name, port in ports.items() if port is not None}
    return {name: pid for name, pid in pids.items() if pid is not None}
