"""Summaries of a py-spy profile: where a service's CPU goes, by function, by package and by the costs we track.

    py-spy record --pid PID --duration 60 --format raw --nolineno --output bot.txt
    python -m bench.profiles bot.txt [--top 20]

py-spy's raw format is one line per distinct stack, ``frame;frame;...;frame COUNT``, outermost first, each frame
``function (path)``; idle threads are left out unless ``--idle`` was given, so the samples are time on the CPU.
Printed: the top functions by self samples (the innermost frame) and by cumulative samples (anywhere on the stack),
the same by package, and the share of samples inside each of the named costs (``COSTS``; a sample inside two
of them counts for both).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import table

FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*)\)$")
PROJECT = ("bot", "api", "stream_processors", "service_kit", "contracts")
# What the issue asks about, by the paths of the frames that do it (any frame of the stack inside it counts).
COSTS: dict[str, tuple[str, ...]] = {
    "aiogram dispatch (routers, filters, middlewares, handlers included)": ("aiogram/dispatcher/",),
    "aiogram Bot API calls (its aiohttp session)": ("aiogram/client/",),
    "httpx / httpcore (the API client)": ("httpx/", "httpcore/"),
    "redis client": ("redis/",),
    "logging (records, formatting, JSON)": ("logging/", "service_kit/logging"),
    "json encode/decode (stdlib)": ("json/",),
    "pydantic (validation, serialisation)": ("pydantic/", "pydantic_core/"),
    "rstream (event publish)": ("rstream/",),
    "prometheus_client (metrics)": ("prometheus_client/",),
    "aiohttp web server (webhook requests)": ("aiohttp/web",),
}
# Costs charged by the innermost frame only. A thread in a system call is sampled as busy while it runs in the
# kernel and also while it is runnable but waiting for a core: writing to a loopback socket wakes the reader,
# which may take the core at once (on a loaded 2-core machine, often). ``py-spy record --gil`` leaves them out.
INNERMOST: dict[str, tuple[str, ...]] = {
    "socket writes (kernel, or runnable waiting for a core)": ("_SelectorSocketTransport.write",),
    "epoll select (kernel, or runnable waiting for a core)": ("EpollSelector.select",),
    "the asyncio event loop's own Python code": ("asyncio/",),
}


@dataclass(frozen=True)
class Stack:
    frames: tuple[tuple[str, str], ...]  # (function, path), outermost first
    samples: int


def parse_raw(lines: Iterable[str]) -> list[Stack]:
    stacks = []
    for line in lines:
        body, _, count = line.rstrip("\n").rpartition(" ")
        if not body or not count.isdigit():
            continue
        frames = tuple(_frame(part) for part in body.split(";"))
        stacks.append(Stack(tuple(frame for frame in frames if frame is not None), int(count)))
    return stacks


def _frame(text: str) -> tuple[str, str] | None:
    """A Python frame, or None for py-spy's process and thread labels."""
    match = FRAME.match(text)
    return (match["function"], match["path"]) if match and ".py" in match["path"] else None


def package_of(path: str) -> str:
    """The package a frame's file belongs to: two levels deep for the project's own code (``bot/middlewares``),
    the top-level name for libraries (``aiogram``, ``asyncio``)."""
    parts = path.replace("\\", "/").split("/")
    marker = next((i for i, part in enumerate(parts) if part == "site-packages"), None)
    parts = parts[marker + 1 :] if marker is not None else parts
    parts = parts[next((i for i, part in enumerate(parts) if part in PROJECT), 0) :]
    top = parts[0].removesuffix(".py")
    if top in PROJECT and len(parts) > 1:
        return f"{top}/{parts[1].removesuffix('.py')}"
    return top


def self_counts(stacks: Sequence[Stack], key: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for stack in stacks:
        if stack.frames:
            counts[_key(stack.frames[-1], key)] += stack.samples
    return counts


def cumulative_counts(stacks: Sequence[Stack], key: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for stack in stacks:
        for name in {_key(frame, key) for frame in stack.frames}:
            counts[name] += stack.samples
    return counts


def _key(frame: tuple[str, str], key: str) -> str:
    function, path = frame
    return package_of(path) if key == "package" else f"{function} ({path})"


def cost_shares(stacks: Sequence[Stack]) -> dict[str, int]:
    shares = {name: sum(stack.samples for stack in stacks if _passes(stack, marks)) for name, marks in COSTS.items()}
    innermost = Counter[str]()
    for stack in stacks:
        leaf = f"{stack.frames[-1][0]} ({stack.frames[-1][1]})" if stack.frames else ""
        name = next((name for name, marks in INNERMOST.items() if _inside(leaf, marks)), None)
        if name is not None:
            innermost[name] += stack.samples
    return shares | {name: innermost[name] for name in INNERMOST}


def _passes(stack: Stack, marks: tuple[str, ...]) -> bool:
    return any(_inside(f"{function} ({path})", marks) for function, path in stack.frames)


def _inside(frame: str, marks: tuple[str, ...]) -> bool:
    return any(mark in frame for mark in marks)


def summary(stacks: Sequence[Stack], top: int) -> str:
    total = sum(stack.samples for stack in stacks) or 1

    def rows(counts: Counter[str]) -> list[list[object]]:
        return [[name, count, f"{count / total:.1%}"] for name, count in counts.most_common(top)]

    parts = [f"{total} samples (on the CPU)"]
    for title, counts in (
        ("self, by package", self_counts(stacks, "package")),
        ("cumulative, by package", cumulative_counts(stacks, "package")),
        ("self, by function", self_counts(stacks, "function")),
        ("cumulative, by function", cumulative_counts(stacks, "function")),
    ):
        parts.append(f"\n{title}\n" + table(["where", "samples", "share"], rows(counts)))
    costs = [[name, count, f"{count / total:.1%}"] for name, count in cost_shares(stacks).items()]
    parts.append(
        "\nnamed costs (cumulative; the last three by the innermost frame only)\n"
        + table(["cost", "samples", "share"], costs)
    )
    return "\n".join(parts)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profiles", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("raw", type=Path, help="a py-spy --format raw output file")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument(
        "--within",
        metavar="FUNCTION",
        default=None,
        help="keep only stacks through this function, e.g. BaseEventLoop.run_forever (drops the "
        "imports of a process sampled while it was starting)",
    )
    return parser.parse_args(argv)


def within(stacks: Sequence[Stack], function: str | None) -> list[Stack]:
    if function is None:
        return list(stacks)
    return [stack for stack in stacks if any(name == function for name, _ in stack.frames)]


if __name__ == "__main__":
    arguments = parse()
    print(summary(within(parse_raw(arguments.raw.read_text().splitlines()), arguments.within), arguments.top))
    sys.exit(0)
