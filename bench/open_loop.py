"""Open-loop load benchmark: people arrive at fixed rates, whatever the system's answers cost.

    python -m bench.open_loop [--rates 1,3,5] [--seconds 60] [--people 1000] [--runs 3] [--arrivals poisson]

The same processes as ``bench.load`` (``python -m stream_processors run``, ``python -m api``, ``python -m bot``
in webhook mode, the fake Telegram server in this process; see ``bench.people``). For each rate, for
``--seconds``, a person arrives at the rate's arrival times (a Poisson process by default: exponential gaps
from a seeded generator; ``--arrivals even`` spaces them evenly) and does one flow: add a document -> list it
-> get it (``bench.people.flow``). Arrivals never wait for replies (open loop): a slow system gets more people
at once, not fewer arrivals. People are taken from ``--people`` distinct ones, the longest idle first; each
person's first flow starts with /start, later ones with /menu. After the arrival window, the flows under way
are finished; then the next rate starts on the same processes.

Measured per rate: file sent -> "saved", "saved" -> listed, and every Bot API call the bot makes for a person,
timed from that person's last update posted (``bench.people.RoutedTelegram``); errors by kind; each process's
CPU (share of one core, over the window and the drain) and peak RSS; and the scheduler's own lag (an arrival's
start minus its planned time), so a lagging load generator cannot pass for a fast system. Each run starts the
processes afresh; the tables give the median of the runs with (min-max).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.common import percentile, start_watches, stop_watches, table
from bench.people import (
    FlowTimes,
    RoutedChat,
    RoutedTelegram,
    Unexpected,
    file_content,
    flow,
    load_system,
    problems_seen,
)
from tests.e2e.processes import BOT_TOKEN, Service

FIRST_PERSON = 900_000
WARM_UP_PERSON = 899_999
ARRIVALS = ("poisson", "even")
QUANTILES = (50, 95, 99)


@dataclass
class Person:
    chat: RoutedChat
    rng: random.Random
    flows_done: int = 0


class Crowd:
    """The distinct people arrivals are drawn from: the longest idle comes next; a busy person is not drawn."""

    def __init__(self, telegram: RoutedTelegram, count: int) -> None:
        self._idle = deque(
            Person(telegram.chat(FIRST_PERSON + i), random.Random(FIRST_PERSON + i)) for i in range(count)
        )

    def take(self) -> Person | None:
        return self._idle.popleft() if self._idle else None

    def give_back(self, person: Person) -> None:
        self._idle.append(person)


@dataclass
class Outcome:
    """What one rate's arrivals measured and met."""

    flows: list[FlowTimes] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # the first few failures in full

    def failed(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < 10:
            self.samples.append(detail)


@dataclass
class RatePhase:
    rate: float
    arrivals: int
    seconds: float  # the arrival window plus the drain
    updates: int  # posted to the bot
    outcome: Outcome
    replies: list[float]
    cpu: dict[str, float]
    rss_mb: dict[str, float]
    machine_busy: float  # share of all cores, every process on the machine (other work shares it)
    load_average: float  # the 1-minute run-queue length at the end (more than the cores: processes wait)


def arrival_offsets(rate: float, seconds: float, kind: str, rng: random.Random) -> list[float]:
    """When people arrive, in seconds from the start of the window: Poisson (exponential gaps) or even."""
    if kind == "even":
        return [i / rate for i in range(int(seconds * rate))]
    offsets, at = [], rng.expovariate(rate)
    while at < seconds:
        offsets.append(at)
        at += rng.expovariate(rate)
    return offsets


async def one_flow(person: Person, telegram: RoutedTelegram, planned: float, outcome: Outcome, crowd: Crowd) -> None:
    outcome.lags.append(time.perf_counter() - planned)
    try:
        outcome.flows.append(await flow(person.chat, telegram, person.flows_done, file_content(person.rng)))
    except Unexpected as error:
        outcome.failed(error.kind, f"person {person.chat.user_id} flow {person.flows_done}: {error}")
    except AssertionError as error:  # a button the flow needs was not shown
        outcome.failed("a button missing", f"person {person.chat.user_id} flow {person.flows_done}: {error}")
    else:
        person.flows_done += 1
        crowd.give_back(person)
        return
    person.flows_done += 1
    await asyncio.sleep(1.0)  # late answers to the failed step arrive, then are dropped
    person.chat.forget_pending()
    crowd.give_back(person)


async def arrive(offsets: Sequence[float], telegram: RoutedTelegram, crowd: Crowd) -> Outcome:
    """Start a flow at each planned time without waiting for earlier ones; return once all have ended."""
    outcome = Outcome()
    flows: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for offset in offsets:
        await asyncio.sleep(max(0.0, started + offset - time.perf_counter()))
        person = crowd.take()
        if person is None:
            outcome.failed("every person busy (arrival dropped)", f"arrival at {offset:.2f} s")
            continue
        flows.append(asyncio.create_task(one_flow(person, telegram, started + offset, outcome, crowd)))
    await asyncio.gather(*flows)
    return outcome


async def run_rate(
    rate: float,
    args: argparse.Namespace,
    telegram: RoutedTelegram,
    crowd: Crowd,
    services: Sequence[Service],
    rng: random.Random,
) -> RatePhase:
    offsets = arrival_offsets(rate, args.seconds, args.arrivals, rng)
    watches = start_watches(services)
    telegram.take_reply_seconds()
    updates_before, began = telegram.updates_posted, time.perf_counter()
    psutil.cpu_percent()  # starts the machine-wide interval that the call after the phase reads
    outcome = await arrive(offsets, telegram, crowd)
    elapsed = time.perf_counter() - began
    await stop_watches(watches)
    return RatePhase(
        rate,
        len(offsets),
        elapsed,
        telegram.updates_posted - updates_before,
        outcome,
        telegram.take_reply_seconds(),
        {name: watch.cpu_share for name, watch in watches.items()},
        {name: watch.peak_mb for name, watch in watches.items()},
        psutil.cpu_percent() / 100,
        os.getloadavg()[0],
    )


async def one_run(args: argparse.Namespace, run_number: int, log_dir: Path) -> list[RatePhase]:
    """Fresh processes, a warm-up flow, then each rate in turn; refused calls and bad exits count as errors."""
    telegram = RoutedTelegram(BOT_TOKEN)
    rng = random.Random(run_number)
    async with load_system(log_dir, telegram) as system:
        warm_up = Outcome()  # not counted: the services' first calls open connections and fill caches
        await one_flow(
            Person(telegram.chat(WARM_UP_PERSON), random.Random(0)),
            telegram,
            time.perf_counter(),
            warm_up,
            Crowd(telegram, 0),
        )
        if warm_up.errors:
            raise RuntimeError(f"the warm-up flow failed: {warm_up.samples}")
        crowd = Crowd(telegram, args.people)
        phases = [
            await run_rate(rate, args, telegram, crowd, list(system.services.values()), rng) for rate in args.rates
        ]
    for problem in problems_seen(telegram, system.exit_codes):  # of the whole run: charged to its last rate
        phases[-1].outcome.failed(problem.split(":")[0], problem)
    return phases


# ---------------------------------------------------------------- report


def spread(values: Sequence[float], unit: float = 1000.0, fmt: str = ",.0f") -> str:
    """The median of the runs' values, with (min-max) when there is more than one run."""
    scaled = [value * unit for value in values]
    if len(scaled) == 1:
        return format(scaled[0], fmt)
    return f"{format(statistics.median(scaled), fmt)} ({format(min(scaled), fmt)}-{format(max(scaled), fmt)})"


def latency_rows(runs: Sequence[Sequence[RatePhase]], rate_index: int) -> list[list[object]]:
    phases = [run[rate_index] for run in runs]
    measures = {
        "file sent -> saved": [[f.file_to_saved for f in p.outcome.flows] for p in phases],
        "saved -> listed": [[f.saved_to_listed for f in p.outcome.flows] for p in phases],
        "every bot reply": [p.replies for p in phases],
        "scheduler lag": [p.outcome.lags for p in phases],
    }
    return [[f"{phases[0].rate:g}/s", name, *quantiles(per_run)] for name, per_run in measures.items()]


def quantiles(per_run: Sequence[Sequence[float]]) -> list[str]:
    """p50, p95, p99 and max of each run's samples, each as the median of the runs (min-max)."""
    cells = [spread([percentile(samples, q) for samples in per_run]) for q in QUANTILES]
    return cells + [spread([max(samples, default=0.0) for samples in per_run])]


def flow_rows(runs: Sequence[Sequence[RatePhase]], rate_index: int) -> list[object]:
    phases = [run[rate_index] for run in runs]
    return [
        f"{phases[0].rate:g}/s",
        spread([p.arrivals for p in phases], 1),
        spread([len(p.outcome.flows) for p in phases], 1),
        spread([len(p.outcome.flows) / p.seconds for p in phases], 1, ".2f"),
        spread([p.updates for p in phases], 1),
        spread([len(p.replies) for p in phases], 1),
        spread([p.cpu["bot"] * p.seconds / p.updates for p in phases if p.updates], 1000, ".2f"),
        spread([sum(p.outcome.errors.values()) for p in phases], 1),
        spread([p.machine_busy for p in phases], 100),
        spread([p.load_average for p in phases], 1, ".1f"),
    ]


def process_rows(runs: Sequence[Sequence[RatePhase]]) -> list[list[object]]:
    names = list(runs[0][0].cpu)
    rows: list[list[object]] = []
    for name in names:
        cpu = [spread([run[i].cpu.get(name, 0.0) for run in runs], 100) for i in range(len(runs[0]))]
        rss = [spread([run[i].rss_mb.get(name, 0.0) for run in runs], 1) for i in range(len(runs[0]))]
        rows.append([name, *cpu, *rss])
    return rows


def error_lines(runs: Sequence[Sequence[RatePhase]]) -> list[str]:
    lines = []
    for index in range(len(runs[0])):
        total: Counter[str] = sum((run[index].outcome.errors for run in runs), Counter())
        rate = runs[0][index].rate
        lines += [f"  {rate:g}/s, {count} in {len(runs)} runs: {kind}" for kind, count in total.most_common()]
        lines += [f"      e.g. {sample}" for run in runs for sample in run[index].outcome.samples[:3]]
    return lines


def report(args: argparse.Namespace, runs: Sequence[Sequence[RatePhase]]) -> int:
    rates = [f"{rate:g}/s" for rate in args.rates]
    print(
        f"\nopen loop, {args.arrivals} arrivals for {args.seconds:g} s per rate over {args.people} people; "
        f"flow: /start|/menu, Add document, type, name, file (4-100 KB), saved, /documents, type, open, "
        f"Get file; {len(runs)} run(s): median (min-max); {os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n"
    )
    print(
        table(
            [
                "rate",
                "arrivals",
                "flows done",
                "flows/s",
                "updates",
                "bot replies",
                "bot CPU ms/update",
                "errors",
                "machine CPU busy %",
                "load average",
            ],
            [flow_rows(runs, i) for i in range(len(rates))],
        )
    )
    print()
    print(
        table(
            ["rate", "measure", "p50 ms", "p95 ms", "p99 ms", "max ms"],
            [row for i in range(len(rates)) for row in latency_rows(runs, i)],
        )
    )
    print()
    print(
        table(
            ["process", *(f"CPU % at {r}" for r in rates), *(f"peak RSS MB at {r}" for r in rates)], process_rows(runs)
        )
    )
    print(
        "\n(CPU: % of one core over the arrival window and the drain; the shared servers' figures include other "
        "work on this machine)"
    )
    lines = error_lines(runs)
    print(f"\nerrors: {sum(sum(p.outcome.errors.values()) for run in runs for p in run)}")
    print("\n".join(lines))
    return 0 if not lines else 1


async def main(args: argparse.Namespace) -> int:
    runs = []
    for run_number in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-open-") as folder:
            runs.append(await one_run(args, run_number, Path(folder)))
        print(f"run {run_number + 1} of {args.runs} done", file=sys.stderr)
    return report(args, runs)


def _rates(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part]


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.open_loop", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", type=_rates, default=[1.0, 3.0, 5.0], help="flows started per second, e.g. 1,3,5")
    parser.add_argument("--seconds", type=float, default=60.0, help="arrival window per rate")
    parser.add_argument("--people", type=int, default=1000, help="distinct people the arrivals are drawn from")
    parser.add_argument("--runs", type=int, default=3, help="runs, each on fresh processes")
    parser.add_argument("--arrivals", choices=ARRIVALS, default="poisson", help="Poisson (default) or evenly spaced")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
