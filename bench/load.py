"""Whole-system load benchmark: many people add, list and fetch documents through the real processes.

    python -m bench.load [--users 200] [--seconds 60] [--baseline-seconds 15]

``python -m stream_processors run``, ``python -m api`` and ``python -m bot`` (webhook mode) run as their own
processes against the local RabbitMQ stream, SecantusDB, moto S3 and Redis; the fake Telegram server runs in
this process and posts updates to the bot's webhook. Each simulated person repeats, until the time is up:
/start (later /menu) -> "Add document" -> types "Passport" -> types a name -> sends a file of 4-100 KB of
random bytes -> "✅ Saved" -> /documents -> "Passport" -> the new name is on the page -> opens it -> "Get file"
-> receives the document. A flow under way when the time is up is finished.

Measured: completed flows and flows/s, time from sending the file to the "saved" reply, time from "saved" to
the page that lists the document (the bot's reads wait for the person's last event: read-your-writes), every
unexpected reply, refused Bot API call, failed webhook delivery and timeout, and each process's peak RSS and
CPU (a share of one core; the shared servers' figures include other work using them). One person alone on
the same processes first gives the baseline row.

Differences from production, on purpose: the flood limit is raised (one person alone runs ~10 updates/s, far
over the 30 per 10 s a human would need) and services log at WARNING (as in ``bench.bot``). The fake server
delivers up to the bot's ``max_connections`` updates at once, one at a time per chat, like Telegram (the
tests' server posts one update at a time). Loopback only; the streams, databases, bucket and Redis keys are
removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.common import ProcessWatch, ms, percentile, start_watches, stop_watches, table
from bench.people import FlowTimes, RoutedTelegram, Unexpected, file_content, flow, load_system, problems_seen
from tests.e2e.processes import BOT_TOKEN, Service

WARM_UP_USER = 880_000
BASELINE_USER = 880_001
FIRST_LOAD_USER = 881_000


@dataclass
class Tally:
    """What the people of one phase measured and met."""

    flows: list[FlowTimes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def person(telegram: RoutedTelegram, user_id: int, deadline: float, tally: Tally) -> None:
    """Flow after flow until ``deadline``; a failed flow is noted and the person starts over from the menu."""
    chat, rng = telegram.chat(user_id), random.Random(user_id)
    round_number = 0
    while time.perf_counter() < deadline:
        try:
            tally.flows.append(await flow(chat, telegram, round_number, file_content(rng)))
        except (Unexpected, TimeoutError, AssertionError) as error:
            tally.errors.append(f"user {user_id} flow {round_number}: {type(error).__name__} {error}")
            await asyncio.sleep(1.0)
            chat.forget_pending()
        round_number += 1


# ---------------------------------------------------------------- phases and processes


@dataclass
class Phase:
    users: int
    seconds: float
    tally: Tally
    watches: dict[str, ProcessWatch]
    machine_busy: float  # percent of all cores, every process on the machine (other work shares it)

    @property
    def rate(self) -> float:
        return len(self.tally.flows) / self.seconds


async def run_phase(
    telegram: RoutedTelegram, user_ids: Sequence[int], seconds: float, services: Sequence[Service]
) -> Phase:
    watches = start_watches(services)
    tally = Tally()
    psutil.cpu_percent()  # starts the machine-wide CPU interval that the call after the phase reads
    started = time.perf_counter()
    await asyncio.gather(*(person(telegram, user_id, started + seconds, tally) for user_id in user_ids))
    elapsed = time.perf_counter() - started
    await stop_watches(watches)
    return Phase(len(user_ids), elapsed, tally, watches, psutil.cpu_percent())


async def measure(args: argparse.Namespace, telegram: RoutedTelegram, services: Sequence[Service]) -> list[Phase]:
    warm_up = Tally()  # one flow, not counted: the services' first calls open connections and fill caches
    await person(telegram, WARM_UP_USER, time.perf_counter() + 0.001, warm_up)
    if warm_up.errors:
        raise RuntimeError(f"the warm-up flow failed: {warm_up.errors}")
    baseline = await run_phase(telegram, [BASELINE_USER], args.baseline_seconds, services)
    load_users = range(FIRST_LOAD_USER, FIRST_LOAD_USER + args.users)
    return [baseline, await run_phase(telegram, load_users, args.seconds, services)]


async def run(args: argparse.Namespace, log_dir: Path) -> tuple[list[Phase], RoutedTelegram, dict[str, int]]:
    telegram = RoutedTelegram(BOT_TOKEN)
    async with load_system(log_dir, telegram) as system:
        phases = await measure(args, telegram, list(system.services.values()))
    return phases, telegram, system.exit_codes


# ---------------------------------------------------------------- report


def flow_row(label: str, phase: Phase) -> list[object]:
    saved = [f.file_to_saved for f in phase.tally.flows]
    listed = [f.saved_to_listed for f in phase.tally.flows]
    whole = [f.whole for f in phase.tally.flows]
    return [
        label,
        len(phase.tally.flows),
        f"{phase.rate:.2f}",
        " / ".join(ms(saved, q) for q in (50, 95, 99)),
        " / ".join(ms(listed, q) for q in (50, 95, 99)),
        ms(whole, 50),
        len(phase.tally.errors),
    ]


def ratio_row(baseline: Phase, load: Phase) -> list[object]:
    def slower(pick: str, q: float) -> str:
        def of(phase: Phase) -> float:
            return percentile([getattr(f, pick) for f in phase.tally.flows], q)

        return f"{of(load) / of(baseline):.1f}x" if baseline.tally.flows and load.tally.flows else "-"

    return [
        f"{load.users} people / 1 person",
        "",
        f"{load.rate / baseline.rate:.1f}x" if baseline.rate else "-",
        " / ".join(slower("file_to_saved", q) for q in (50, 95, 99)),
        " / ".join(slower("saved_to_listed", q) for q in (50, 95, 99)),
        slower("whole", 50),
        "",
    ]


def process_rows(baseline: Phase, load: Phase) -> list[list[object]]:
    return [
        [
            name,
            f"{baseline.watches[name].peak_mb:.0f}",
            f"{load.watches[name].peak_mb:.0f}",
            f"{baseline.watches[name].cpu_share:.0%}",
            f"{load.watches[name].cpu_share:.0%}",
        ]
        for name in load.watches
    ]


def problems(phases: Sequence[Phase], telegram: RoutedTelegram, exits: dict[str, int]) -> list[str]:
    return [error for phase in phases for error in phase.tally.errors] + problems_seen(telegram, exits)


def report(args: argparse.Namespace, phases: list[Phase], telegram: RoutedTelegram, exits: dict[str, int]) -> int:
    baseline, load = phases
    print(
        f"\nflow: /start|/menu, Add document, type, name, file (4-100 KB), saved, /documents, type, open, "
        f"Get file; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n"
    )
    print(
        table(
            [
                "people",
                "completed flows",
                "flows/s",
                "file sent -> saved p50/p95/p99 ms",
                "saved -> listed p50/p95/p99 ms",
                "whole flow p50 ms",
                "errors",
            ],
            [flow_row("1 (baseline)", baseline), flow_row(str(args.users), load), ratio_row(baseline, load)],
        )
    )
    print()
    print(
        table(
            [
                "process",
                "peak RSS MB, 1 person",
                f"peak RSS MB, {args.users} people",
                "CPU, 1 person",
                f"CPU, {args.users} people",
            ],
            process_rows(baseline, load),
        )
    )
    found = problems(phases, telegram, exits)
    print(
        f"\nmachine CPU busy (every process, {os.cpu_count()} cores): {baseline.machine_busy:.0f}% with 1 person, "
        f"{load.machine_busy:.0f}% with {args.users} people"
    )
    print(f"\nerrors: {len(found)}")
    for line in found[:50]:
        print(f"  {line}")
    if len(found) > 50:
        print(f"  ... and {len(found) - 50} more")
    return 0 if not found else 1


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        phases, telegram, exits = await run(args, Path(folder))
    return report(args, phases, telegram, exits)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200, help="people at once in the load phase")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load phase")
    parser.add_argument("--baseline-seconds", type=float, default=15.0, help="length of the one-person phase")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
