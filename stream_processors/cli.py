"""``python -m stream_processors <command>``: run, replay, rebuild, export, lag, dlq, keys, seal-history.

Examples::

    python -m stream_processors run
    python -m stream_processors replay --version 2 --from offset:1500
    python -m stream_processors rebuild --version 2          # from the first event, then serve it
    python -m stream_processors export --from timestamp:2026-11-01T00:00:00Z --type document.added \\
        --format csv --output added.csv
    python -m stream_processors lag
    python -m stream_processors dlq list --reason unapplicable
    python -m stream_processors dlq show 12
    python -m stream_processors dlq redrive --reason unapplicable   # after deploying a fix
    python -m stream_processors keys status                     # live and forgotten keys, by master key
    python -m stream_processors keys rotate                     # re-wrap every key under the first master key
    python -m stream_processors seal-history --target docvault.events.sealed   # v1 texts sealed, in a new stream
    python -m stream_processors seal-history --target docvault.events.sealed --resume   # continue after a stop
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
from stream_processors import commands, service
from stream_processors.export import ExportFilter
from stream_processors.settings import ProcessorSettings


def parse_start(text: str) -> StartAt:
    """``first``, ``next``, ``offset:N`` or ``timestamp:<ISO 8601 with zone>``."""
    if text in ("first", "next"):
        return StartAt(text)
    kind, _, value = text.partition(":")
    if kind == "offset" and _is_offset(value):
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
    parser = argparse.ArgumentParser(
        prog="python -m stream_processors", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the processor (resumes at its checkpoint + 1)")
    for name, text in (
        ("replay", "project into a version from a start position, until caught up"),
        ("rebuild", "replay a version from the first event, then make the API serve it"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--version", type=int, required=True, help="projection version (its own database)")
        if name == "replay":
            cmd.add_argument(
                "--from",
                dest="start",
                type=parse_start,
                default=StartAt.first(),
                help="first | offset:N | timestamp:ISO8601 (default first)",
            )
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
    _add_dlq_commands(sub.add_parser("dlq", help="list, show or redrive the dead-letter stream's entries"))
    keys = sub.add_parser("keys", help="the people's data keys: status, or rotate the master key")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("status", help="live and forgotten data keys, live ones by the master key wrapping them")
    keys_sub.add_parser("rotate", help="re-wrap every data key under the current (first) master key")
    seal = sub.add_parser(
        "seal-history", help="copy the event stream into a new stream with every v1 name, title and file name sealed"
    )
    seal.add_argument("--target", required=True, type=_stream_name, help="the new stream (created if missing)")
    seal.add_argument("--resume", action="store_true", help="continue after the records the target already holds")
    return parser


def _stream_name(text: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9._-]{1,200}", text):
        return text
    raise argparse.ArgumentTypeError(f"a stream name is 1-200 letters, digits, '.', '_' or '-', got {text!r}")


def _add_dlq_commands(dlq: argparse.ArgumentParser) -> None:
    sub = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = sub.add_parser("list", help="one line per dead letter: offsets, reason, event, detail")
    listing.add_argument("--reason", dest="reasons", action="append", default=[], help="only this reason (repeatable)")
    show = sub.add_parser("show", help="one dead letter in full, as JSON")
    show.add_argument("offset", type=_offset, help="its offset in the dead-letter stream")
    redrive = sub.add_parser("redrive", help="append the original records again to the events stream")
    chosen = redrive.add_argument_group("which (at least one)")
    chosen.add_argument(
        "--offset",
        dest="offsets",
        type=_offset,
        action="append",
        default=[],
        help="a dead letter's offset (repeatable)",
    )
    chosen.add_argument(
        "--reason", dest="reasons", action="append", default=[], help="every dead letter with this reason (repeatable)"
    )


def _is_offset(text: str) -> bool:
    return re.fullmatch(r"[0-9]{1,20}", text) is not None and int(text) < 2**64  # offsets are u64


def _offset(text: str) -> int:
    if _is_offset(text):
        return int(text)
    raise argparse.ArgumentTypeError(f"expected a stream offset, got {text!r}")


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line; exits with a usage error (2) like argparse for what it cannot express."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "dlq" and args.dlq_command == "redrive" and not (args.offsets or args.reasons):
        parser.error("dlq redrive: give --offset or --reason (redriving everything is never a default)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    settings = load_settings(ProcessorSettings, "processor")  # a bad setting: one line and exit 78
    configure_logging(f"processor-{args.command}", settings.log_level)
    return asyncio.run(_dispatch(args, settings))


async def _dispatch(args: argparse.Namespace, settings: ProcessorSettings) -> int:
    if args.command == "run":
        return await service.run_service(settings, _stop_on_signals())
    if args.command in ("replay", "rebuild"):
        start = getattr(args, "start", StartAt.first())
        return await commands.replay(settings, args.version, start, activate=args.command == "rebuild")
    if args.command == "export":
        selection = ExportFilter(tuple(args.event_types), tuple(args.owners), args.since, args.until)
        return await commands.export(settings, args.start, selection, args.format, args.output)
    if args.command == "dlq":
        return await _dispatch_dlq(args, settings)
    if args.command == "seal-history":
        return await commands.seal_history(settings, args.target, args.resume, sys.stdout)
    if args.command == "keys":
        if args.keys_command == "rotate":
            return await commands.keys_rotate(settings, sys.stdout)
        return await commands.keys_status(settings, sys.stdout)
    return await commands.lag(settings, args.version, sys.stdout)


async def _dispatch_dlq(args: argparse.Namespace, settings: ProcessorSettings) -> int:
    if args.dlq_command == "list":
        return await commands.dlq_list(settings, args.reasons, sys.stdout)
    if args.dlq_command == "show":
        return await commands.dlq_show(settings, args.offset, sys.stdout)
    return await commands.dlq_redrive(settings, args.offsets, args.reasons, sys.stdout)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
