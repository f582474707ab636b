"""``python -m stream_processors <command>``: run, replay, rebuild, export, lag.

Examples::

    python -m stream_processors run
    python -m stream_processors replay --version 2 --from offset:1500
    python -m stream_processors rebuild --version 2          # from the first event, then serve it
    python -m stream_processors export --from timestamp:2026-11-01T00:00:00Z --type document.added \\
        --format csv --output added.csv
    python -m stream_processors lag
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
from collections.abc import Sequence
from datetime import datetime

from service_kit.eventlog import StartAt
from service_kit.logging import configure_logging
from service_kit.settings import load_settings
from stream_processors import commands
from stream_processors.export import ExportFilter
from stream_processors.settings import ProcessorSettings


def parse_start(text: str) -> StartAt:
    """``first``, ``next``, ``offset:N`` or ``timestamp:<ISO 8601 with zone>``."""
    if text in ("first", "next"):
        return StartAt(text)
    kind, _, value = text.partition(":")
    if kind == "offset" and re.fullmatch(r"[0-9]{1,20}", value) and int(value) < 2**64:  # offsets are u64
        return StartAt.offset(int(value))
    if kind == "timestamp" and value:
        moment = _aware(value)
        return StartAt.timestamp_ms(int(moment.timestamp() * 1000))
    raise argparse.ArgumentTypeError(f"expected first, next, offset:N or timestamp:ISO8601, got {text!r}")


def _aware(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone (e.g. Z): {text!r}")
    return moment


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stream_processors", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the processor (resumes at its checkpoint + 1)")
    for name, text in (("replay", "project into a version from a start position, until caught up"),
                       ("rebuild", "replay a version from the first event, then make the API serve it")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--version", type=int, required=True, help="projection version (its own database)")
        if name == "replay":
            cmd.add_argument("--from", dest="start", type=parse_start, default=StartAt.first(),
                             help="first | offset:N | timestamp:ISO8601 (default first)")
    export = sub.add_parser("export", help="write events as JSON Lines or CSV")
    export.add_argument("--from", dest="start", type=parse_start, default=StartAt.first())
    export.add_argument("--until", type=_aware, default=None, help="only events that occurred before this time")
    export.add_argument("--since", type=_aware, default=None, help="only events that occurred at or after this time")
    export.add_argument("--type", dest="event_types", action="append", default=[], help="event type (repeatable)")
    export.add_argument("--owner", dest="owners", type=int, action="append", default=[], help="owner id (repeatable)")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--output", default="-", help="file path, or - for standard output")
    lag = sub.add_parser("lag", help="print stream end, checkpoint and lag of a processor version")
    lag.add_argument("--version", type=int, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings(ProcessorSettings, "processor")  # a bad setting: one line and exit 78
    configure_logging(f"processor-{args.command}", settings.log_level)
    return asyncio.run(_dispatch(args, settings))


async def _dispatch(args: argparse.Namespace, settings: ProcessorSettings) -> int:
    if args.command == "run":
        return await commands.run_service(settings, _stop_on_signals())
    if args.command in ("replay", "rebuild"):
        start = getattr(args, "start", StartAt.first())
        return await commands.replay(settings, args.version, start, activate=args.command == "rebuild")
    if args.command == "export":
        selection = ExportFilter(tuple(args.event_types), tuple(args.owners), args.since, args.until)
        return await commands.export(settings, args.start, selection, args.format, args.output)
    return await commands.lag(settings, args.version, sys.stdout)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
