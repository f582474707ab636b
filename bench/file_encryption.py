"""The price of file encryption: uploads and downloads through the API with and without it, in one run.

Run (test services up, see scripts/test-env.sh)::

    source scripts/test-env.sh && .venv/bin/python -m bench.file_encryption

It starts two ``python -m api`` processes on one fresh database and bucket: one as deployed (files encrypted
per person in segments, ``service_kit/segments.py``) and one with ``ENCRYPT_UPLOADS=false`` (files stored in
the clear, as v1 objects were), and takes turns between them: the same ``--file-mb`` file uploaded to each,
then downloaded from each (the encrypted copy decrypted by the API), ``--repeats`` times on loopback. It prints
the median MB/s of each side, the ratio, and the peak resident-memory growth of each API process over its
transfers (targets of issue 11: at least 70 % of the unencrypted rate, under 64 MB growth for 200 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.api import BENCH_OWNER, api_transfer, api_upload, file_document, served_api
from bench.common import RssSampler, median, table
from service_kit.settings import MongoSettings, S3Settings
from tests.api.support import forget
from tests.ports import closed_port

MB = 10**6
SIDES = ("unencrypted", "encrypted")


@dataclass
class Side:
    """One API process and what was measured through it."""

    port: int
    pid: int
    owner_id: int  # one person per side: neither finds the other's file as a duplicate
    seconds: dict[str, list[float]] = field(default_factory=lambda: {"upload": [], "download": []})
    rss_growth_mb: dict[str, float] = field(default_factory=lambda: {"upload": 0.0, "download": 0.0})


async def measured(side: Side, leg: str, transfer: Callable[[], Awaitable[None]]) -> None:
    """Time one transfer and keep the largest RSS growth of the API process seen during any of its leg."""
    baseline = psutil.Process(side.pid).memory_info().rss / 2**20
    sampler = RssSampler(side.pid, interval=0.01)
    sampler.start()
    started = time.perf_counter()
    try:
        await transfer()
    finally:
        side.seconds[leg].append(time.perf_counter() - started)
        await sampler.stop()
    side.rss_growth_mb[leg] = max(side.rss_growth_mb[leg], sampler.peak_mb - baseline)


async def transfers(sides: dict[str, Side], mongo: MongoSettings, data: bytes, repeats: int) -> None:
    """Uploads then downloads, taking turns between the sides so that machine noise falls on both alike."""
    paths: dict[str, str] = {}
    for _ in range(repeats):
        for name, side in sides.items():

            async def upload(side: Side = side, name: str = name) -> None:
                uploaded = await api_upload(side.port, data, side.owner_id)
                if uploaded["encrypted"] != (name == "encrypted"):
                    raise RuntimeError(f"the {name} API stored encrypted={uploaded['encrypted']}")
                if name not in paths:
                    paths[name] = await file_document(mongo, uploaded, side.owner_id)

            await measured(side, "upload", upload)
    for _ in range(repeats):
        for name, side in sides.items():

            async def download(side: Side = side, path: str = paths[name]) -> None:
                if await api_transfer(side.port, "GET", path) != len(data):
                    raise RuntimeError("the download was incomplete")

            await measured(side, "download", download)


def rows(sides: dict[str, Side], file_mb: int) -> list[list[object]]:
    plain, sealed = sides["unencrypted"], sides["encrypted"]
    result: list[list[object]] = []
    for leg in ("upload", "download"):
        plain_rate, sealed_rate = file_mb / median(plain.seconds[leg]), file_mb / median(sealed.seconds[leg])
        result.append(
            [
                f"{leg} {file_mb} MB",
                plain_rate,
                sealed_rate,
                f"{sealed_rate / plain_rate:.0%}",
                plain.rss_growth_mb[leg],
                sealed.rss_growth_mb[leg],
            ]
        )
    return result


async def main(args: argparse.Namespace) -> int:
    name = f"benchpriv{uuid.uuid4().hex[:8]}"
    mongo, s3 = MongoSettings(database=name), S3Settings(bucket=f"bench-{name}")
    data = os.urandom(args.file_mb * MB)
    try:
        async with AsyncExitStack() as stack:
            sides: dict[str, Side] = {}
            for number, side_name in enumerate(SIDES):
                port = closed_port()
                extra = {"ENCRYPT_UPLOADS": "true" if side_name == "encrypted" else "false"}
                log = Path(args.log_dir) / f"bench-file-encryption-{side_name}.log"
                pid = await stack.enter_async_context(served_api(mongo, s3, port, log, extra))
                sides[side_name] = Side(port, pid, BENCH_OWNER + number)
            await transfers(sides, mongo, data, args.repeats)
    finally:
        await forget(mongo, s3)
    print(
        f"\n{os.cpu_count()} cores; S3: moto server; MongoDB: SecantusDB; one transfer at a time on loopback; "
        f"median of {args.repeats} per side; RSS growth: the peak over those transfers\n"
    )
    print(
        table(
            [
                "transfer",
                "unencrypted MB/s",
                "encrypted MB/s",
                "encrypted/unencrypted",
                "unencrypted RSS growth MB",
                "encrypted RSS growth MB",
            ],
            rows(sides, args.file_mb),
        )
    )
    return 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.file_encryption",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--file-mb", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="transfers per side and direction (the median counts)")
    parser.add_argument("--log-dir", default="/tmp", help="where the API processes write their logs")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
