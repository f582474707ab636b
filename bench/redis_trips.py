"""Redis commands and round trips per bot update, from a ``MONITOR`` capture taken while the bot is under load.

    redis-cli MONITOR > monitor.txt   (while e.g. ``python -m bench.open_loop --rates 3 --runs 1`` runs; Ctrl-C)
    python -m bench.redis_trips monitor.txt [--db 12]

``MONITOR`` prints one line per command: ``1733213012.123456 [12 127.0.0.1:50432] "SET" "key" ...``. Only the
given database's lines count (the benchmarks' bots use database 12). Updates are counted by the bot's update
claims (``SET <prefix>:update:<id> 1 NX``, one per update). A round trip is a run of commands from the same
client connection less than ``--gap-ms`` apart (a pipeline arrives in one read, so its commands share a
timestamp within microseconds): an estimate, printed as such.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import table

LINE = re.compile(r"^(?P<at>\d+\.\d+) \[(?P<db>\d+) (?P<client>[^\]]+)\] (?P<command>.*)$")


@dataclass(frozen=True)
class Command:
    at: float
    client: str
    words: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.words[0].upper() if self.words else "?"

    @property
    def key_kind(self) -> str:
        """The kind of key (``flood``, ``lang``, ``fsm:state`` ...): its first part after the prefix (and, for
        aiogram's FSM keys, the last: ``state`` or ``data``)."""
        parts = self.words[1].split(":")[1:] if len(self.words) > 1 else []
        if not parts:
            return ""
        return f"fsm:{parts[-1]}" if parts[0] == "fsm" else parts[0]


def parse_monitor(lines: Iterable[str], db: int) -> list[Command]:
    commands = []
    for line in lines:
        match = LINE.match(line.strip())
        if match and int(match["db"]) == db:
            try:
                words = tuple(shlex.split(match["command"]))
            except ValueError:
                words = (match["command"].split(" ")[0].strip('"'),)
            commands.append(Command(float(match["at"]), match["client"], words))
    return commands


def updates_claimed(commands: Sequence[Command]) -> int:
    return sum(
        1
        for c in commands
        if c.name == "SET" and ":update:" in c.words[1] and "NX" in (word.upper() for word in c.words)
    )


def round_trips(commands: Sequence[Command], gap_seconds: float) -> int:
    last_at: dict[str, float] = {}
    trips = 0
    for command in commands:
        previous = last_at.get(command.client)
        if previous is None or command.at - previous > gap_seconds:
            trips += 1
        last_at[command.client] = command.at
    return trips


def summary(commands: Sequence[Command], gap_ms: float) -> str:
    updates = updates_claimed(commands) or 1
    kinds = Counter(f"{c.name} {c.key_kind}".strip() for c in commands)
    trips = round_trips(commands, gap_ms / 1000)
    head = (
        f"{len(commands)} commands, ~{trips} round trips (commands < {gap_ms:g} ms apart on one connection "
        f"count as one), {updates} updates claimed: {len(commands) / updates:.1f} commands and "
        f"~{trips / updates:.1f} round trips per update\n"
    )
    rows = [[kind, count, f"{count / updates:.2f}"] for kind, count in kinds.most_common()]
    return head + table(["command and key kind", "commands", "per update"], rows)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.redis_trips", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("capture", type=Path, help="the output of redis-cli MONITOR")
    parser.add_argument("--db", type=int, default=12)
    parser.add_argument("--gap-ms", type=float, default=0.2)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    text = arguments.capture.read_text(errors="replace").splitlines()
    print(summary(parse_monitor(text, arguments.db), arguments.gap_ms))
