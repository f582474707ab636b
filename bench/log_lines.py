"""CPU per JSON log line: the services' ``service_kit.logging.JsonFormatter`` through a stream handler.

    python -m bench.log_lines [--lines 20000] [--runs 3]

The bot logs one INFO line per update ("update handled" with the update id, handler and status as extra
fields; ``bot/middlewares/update_context.py``). This measures what such a line costs: the record built by
``logger.info``, formatted to JSON and written to ``/dev/null``, beside the same call dropped by the level
check (the bench processes run at WARNING) and beside ``json.dumps`` of the formatter's dictionary alone (the
share an orjson swap could touch). Median of ``--runs`` with (min-max).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from bench.common import table
from service_kit.logging import JsonFormatter

EXTRA = {"update_id": 123_456_789, "handler": "callback_query:open_type", "status": "ok"}


def us_per_call(action: Callable[[], object], calls: int) -> float:
    before = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - before) / calls * 1e6


def measure(lines: int) -> dict[str, float]:
    logger = logging.getLogger("bench.log_lines")
    logger.propagate = False
    with open(os.devnull, "w") as sink:
        handler = logging.StreamHandler(sink)
        handler.setFormatter(JsonFormatter("bot"))
        logger.handlers[:] = [handler]
        entry = {
            "ts": "2026-12-03T10:00:00.000+00:00",
            "level": "INFO",
            "service": "bot",
            "logger": "bot",
            "msg": "update handled",
            "correlation_id": "0123456789abcdef",
            **EXTRA,
        }
        logger.setLevel(logging.INFO)
        written = us_per_call(lambda: logger.info("update handled", extra=EXTRA), lines)
        encoded = us_per_call(lambda: json.dumps(entry, default=str, ensure_ascii=False), lines)
        logger.setLevel(logging.WARNING)
        dropped = us_per_call(lambda: logger.info("update handled", extra=EXTRA), lines)
    return {
        "logger.info, JSON line written (INFO)": written,
        "json.dumps of the line's dict alone": encoded,
        "logger.info below the level (WARNING)": dropped,
    }


def main(args: argparse.Namespace) -> int:
    runs = [measure(args.lines) for _ in range(args.runs)]
    rows = [
        [
            name,
            f"{statistics.median(r[name] for r in runs):.1f} ({min(r[name] for r in runs):.1f}-"
            f"{max(r[name] for r in runs):.1f})",
        ]
        for name in runs[0]
    ]
    print(f"\n{args.lines} lines per run, {args.runs} runs: median (min-max); Python {sys.version.split()[0]}\n")
    print(table(["log call", "CPU µs/line"], rows))
    return 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.log_lines", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main(parse()))
