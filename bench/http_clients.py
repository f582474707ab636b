"""CPU per API call of the bot's HTTP client stacks, on the same stub of the query API.

    python -m bench.http_clients [--calls 2000] [--concurrency 1,8] [--runs 3]

The stub (``tests.bot.api_stub``) runs in a process of its own, so this process's CPU time is the client's
alone. Each client makes ``--calls`` type-list reads (``GET /v1/owners/{id}/types`` with the service token
and a correlation id, the body parsed into ``contracts.api_schemas.TypeList``), ``concurrency`` at a time:

* ``bot ApiClient (httpx)``: the bot's own client today (``bot.api_client.ApiClient.list_types``: metrics
  timing, retry loop, typed errors);
* ``httpx.AsyncClient``: the same request and parse on a bare httpx client (what httpx itself costs);
* ``aiohttp.ClientSession``: the same request and parse on aiohttp, the stack aiogram already runs.

"CPU ms/call" is this process's user + system time over the calls (the steadiest figure on a shared
machine); the table gives the median of ``--runs`` runs with (min-max), and each stack against aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import aiohttp
import httpx

from bench.common import table
from bot.clients.api_client import ApiClient
from contracts.api_schemas import TypeList
from service_kit.correlation import CORRELATION_HEADER
from tests.bot.api_stub import TOKEN, StubState, start_stub
from tests.e2e.processes import start_service, wait_http_ok
from tests.ports import free_port

OWNER = 4242
PATH = f"/v1/owners/{OWNER}/types"
HEADERS = {"Authorization": f"Bearer {TOKEN}", CORRELATION_HEADER: "bench-http-clients"}
Call = Callable[[], Awaitable[TypeList]]


async def cpu_ms_per_call(call: Call, calls: int, concurrency: int) -> float:
    """This process's CPU milliseconds per call over ``calls`` calls, ``concurrency`` at a time."""
    for _ in range(50):  # warm-up: connections open, code paths imported
        await call()
    remaining = iter(range(calls))

    async def worker() -> None:
        for _ in remaining:
            await call()

    before = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - before) / calls * 1000


async def measure(base_url: str, calls: int, concurrency: int) -> dict[str, float]:
    bot_client = ApiClient(base_url, TOKEN)
    bare_httpx = httpx.AsyncClient(
        base_url=base_url, headers=HEADERS, limits=httpx.Limits(max_connections=16, max_keepalive_connections=16)
    )
    session = aiohttp.ClientSession(base_url, headers=HEADERS, connector=aiohttp.TCPConnector(limit=16))

    async def by_httpx() -> TypeList:
        response = await bare_httpx.get(PATH)
        response.raise_for_status()
        return TypeList.model_validate_json(response.content)

    async def by_aiohttp() -> TypeList:
        async with session.get(PATH) as response:
            response.raise_for_status()
            return TypeList.model_validate_json(await response.read())

    async def by_bot_client() -> TypeList:
        return await bot_client.list_types(OWNER)

    stacks: dict[str, Call] = {
        "bot ApiClient (httpx)": by_bot_client,
        "httpx.AsyncClient": by_httpx,
        "aiohttp.ClientSession": by_aiohttp,
    }
    try:
        return {name: await cpu_ms_per_call(call, calls, concurrency) for name, call in stacks.items()}
    finally:
        await bot_client.close()
        await bare_httpx.aclose()
        await session.close()


async def serve_stub(port: int) -> None:
    await start_stub(StubState(), port=port)
    await asyncio.Event().wait()


def rows(results: dict[int, list[dict[str, float]]]) -> list[list[object]]:
    out: list[list[object]] = []
    for concurrency, runs in results.items():
        reference = statistics.median(run["aiohttp.ClientSession"] for run in runs)
        for name in runs[0]:
            values = [run[name] for run in runs]
            out.append(
                [
                    name,
                    concurrency,
                    f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})",
                    f"{statistics.median(values) / reference:.1f}x",
                ]
            )
    return out


async def main(args: argparse.Namespace) -> int:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as folder:
        stub = await start_service("api stub", "bench.http_clients", {}, Path(folder), "--serve", str(port))
        base_url = f"http://127.0.0.1:{port}"
        try:
            await wait_http_ok(base_url + "/healthz", stub, headers=HEADERS)  # the stub asks the token of every path
            results = {
                level: [await measure(base_url, args.calls, level) for _ in range(args.runs)]
                for level in args.concurrency
            }
        finally:
            await stub.stop()
    print(
        f"\n{args.calls} type-list calls per run, {args.runs} runs: median (min-max); {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}\n"
    )
    print(table(["client", "at a time", "client CPU ms/call", "vs aiohttp"], rows(results)))
    return 0


def _levels(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http_clients", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=_levels, default=[1, 8], help="calls at a time, e.g. 1,8")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.serve:
        asyncio.run(serve_stub(arguments.serve))
    else:
        raise SystemExit(asyncio.run(main(arguments)))
