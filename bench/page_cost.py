"""A page of a large type beside the type list, measured back to back, with each process's CPU per request.

Run (test services up, see scripts/test-env.sh)::

    source scripts/test-env.sh && .venv/bin/python -m bench.page_cost

``bench.api`` measures its rows one after the other (raw, then API, then the next query), so on a shared
machine their ratio also carries the load's drift between rows. This seeds the same database (10,000
documents in one type), starts ``python -m api`` and, ``--rounds`` times, hammers the type list then the first
page of the 10,000-document type for ``--seconds`` each at 50 clients, through the API and then raw (the API's
own queries through pymongo), reading the CPU time the API process and SecantusDB (``--server-pid``, or the
pid file of scripts/test-services.sh) spent per request. Prints medians (min-max) and the page's rate as a
share of the type list's within each pair.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import psutil

from bench.api import (
    BENCH_OWNER,
    ROOT,
    SMALL_OWNER,
    Call,
    api_call,
    hammer,
    mongo_call,
    person_keys,
    read_scenarios,
    seed,
    served_api,
)
from bench.common import table
from contracts.read_models import read_model_database
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, S3Settings
from tests.api.support import forget
from tests.ports import closed_port

Sample = dict[str, float]


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def measured(
    make_call: Callable[[], Awaitable[Call]], processes: dict[str, psutil.Process], seconds: float
) -> Sample:
    """Requests/s and each process's CPU milliseconds per request over one hammering."""
    await hammer(make_call, 50, 1)  # warm-up
    before = {name: cpu_seconds(p) for name, p in processes.items()}
    rate = await hammer(make_call, 50, seconds)
    return {"rate": rate.per_second} | {
        name: 1000 * (cpu_seconds(p) - before[name]) / rate.requests for name, p in processes.items()
    }


def spread(values: list[float], unit: str = "") -> str:
    return f"{statistics.median(values):,.2f}{unit} ({min(values):,.2f}-{max(values):,.2f})"


async def main(args: argparse.Namespace) -> int:
    name = f"benchpage{uuid.uuid4().hex[:8]}"
    mongo, s3 = MongoSettings(database=name), S3Settings(bucket=f"bench-{name}")
    server = psutil.Process(int(args.server_pid or Path(ROOT / ".ci-services/secantusdb.pid").read_text()))
    samples: dict[tuple[str, str], list[Sample]] = {}
    client = mongo_client(mongo)
    try:
        await seed(mongo, args.owner_documents, args.owner_documents + 200)
        keys = {owner: await person_keys(mongo, owner) for owner in (BENCH_OWNER, SMALL_OWNER)}
        type_list, page = read_scenarios(20, args.owner_documents, keys)[:2]
        database = read_model_database(name, 1)
        port = closed_port()
        async with served_api(mongo, s3, port, Path(args.log)) as pid:
            api = {"API": psutil.Process(pid), "SecantusDB": server}
            for _ in range(args.rounds):
                for scenario in (type_list, page):
                    through_api = await measured(api_call(port, scenario.path), api, args.seconds)
                    samples.setdefault((scenario.name, "API"), []).append(through_api)
                    raw_call = mongo_call(
                        client,
                        database,
                        scenario.collection,
                        scenario.query,
                        scenario.projection,
                        scenario.sort,
                        scenario.limit,
                    )
                    raw = await measured(raw_call, {"SecantusDB": server}, args.seconds)
                    samples.setdefault((scenario.name, "raw"), []).append(raw)
    finally:
        await client.close()
        await forget(mongo, s3)
    rows: list[list[object]] = []
    for (query, side), runs in samples.items():
        api_cpu = spread([r["API"] for r in runs], " ms") if side == "API" else "-"
        rows.append(
            [query, side, spread([r["rate"] for r in runs]), api_cpu, spread([r["SecantusDB"] for r in runs], " ms")]
        )
    for side in ("API", "raw"):
        shares = [
            100 * p["rate"] / t["rate"] for t, p in zip(samples[(type_list.name, side)], samples[(page.name, side)])
        ]
        rows.append([f"{page.name} / type list (each pair)", side, spread(shares, " %"), "-", "-"])
    print(
        f"\n50 clients, {args.seconds:g} s per measurement, {args.rounds} rounds; load average "
        f"{' '.join(f'{x:.1f}' for x in psutil.getloadavg())}\n"
    )
    print(table(["query", "side", "per second", "API CPU per request", "SecantusDB CPU per request"], rows))
    return 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.page_cost", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--owner-documents", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server-pid", type=int, default=None, help="SecantusDB's pid (default: its pid file)")
    parser.add_argument("--log", default="/tmp/bench-page-cost.log", help="where the API process writes its log")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
