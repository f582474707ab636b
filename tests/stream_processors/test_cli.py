"""The analysts' and operators' command line: start positions and argument parsing."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest

from service_kit.eventlog import StartAt
from stream_processors.cli import parse_arguments, parse_start

NOV_1_MS = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()) * 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("first", StartAt.first()),
        ("next", StartAt.next()),
        ("offset:0", StartAt.offset(0)),
        ("offset:1500", StartAt.offset(1500)),
        ("offset:18446744073709551615", StartAt.offset(2**64 - 1)),
        ("timestamp:2026-11-01T00:00:00Z", StartAt.timestamp_ms(NOV_1_MS)),
        ("timestamp:2026-11-01T00:00:00+00:00", StartAt.timestamp_ms(NOV_1_MS)),
        ("timestamp:2026-11-01T03:00:00+03:00", StartAt.timestamp_ms(NOV_1_MS)),
        ("timestamp:2026-10-31T19:00:00-05:00", StartAt.timestamp_ms(NOV_1_MS)),
        ("timestamp:2026-11-01T00:00:00.001Z", StartAt.timestamp_ms(NOV_1_MS + 1)),
        ("timestamp:2026-11-01T00:00:01.999999Z", StartAt.timestamp_ms(NOV_1_MS + 1999)),
    ],
)
def test_parse_start_returns_position_when_text_valid(text: str, expected: StartAt) -> None:
    assert parse_start(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "last",
        "FIRST",
        "first:1",
        "next:now",
        "start",
        "offset",
        "offset:",
        "offset:-1",
        "offset:1.5",
        "offset:abc",
        "offset: 5",
        "offset:0x10",
        "timestamp",
        "timestamp:",
        "timestamp:yesterday",
        "timestamp:2026-13-01T00:00:00Z",
        "timestamp:2026-11-01T00:00:00",
        "timestamp:2026-11-01",
        "timestamp:1767225600",
    ],
)
def test_parse_start_raises_argument_type_error_when_text_invalid(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_start(text)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run"], {"command": "run"}),
        (["replay", "--version", "2"], {"command": "replay", "version": 2, "start": StartAt.first()}),
        (
            ["replay", "--version", "2", "--from", "offset:1500"],
            {"command": "replay", "version": 2, "start": StartAt.offset(1500)},
        ),
        (["rebuild", "--version", "3"], {"command": "rebuild", "version": 3}),
        (["lag"], {"command": "lag", "version": None}),
        (
            ["export"],
            {
                "command": "export",
                "start": StartAt.first(),
                "event_types": [],
                "owners": [],
                "since": None,
                "until": None,
                "format": "jsonl",
                "output": "-",
            },
        ),
        (
            [
                "export",
                "--from",
                "timestamp:2026-11-01T00:00:00Z",
                "--type",
                "document.added",
                "--type",
                "document.renamed",
                "--owner",
                "7",
                "--owner",
                "412845671",
                "--format",
                "csv",
                "--output",
                "added.csv",
                "--since",
                "2026-11-01T00:00:00Z",
                "--until",
                "2026-11-02T03:00:00+03:00",
            ],
            {
                "command": "export",
                "start": StartAt.timestamp_ms(NOV_1_MS),
                "event_types": ["document.added", "document.renamed"],
                "owners": [7, 412845671],
                "format": "csv",
                "output": "added.csv",
                "since": datetime(2026, 11, 1, tzinfo=UTC),
                "until": datetime(2026, 11, 2, tzinfo=UTC),
            },
        ),
        (["dlq", "list"], {"command": "dlq", "dlq_command": "list", "reasons": []}),
        (
            ["dlq", "list", "--reason", "unapplicable", "--reason", "invalid"],
            {"dlq_command": "list", "reasons": ["unapplicable", "invalid"]},
        ),
        (["dlq", "show", "12"], {"dlq_command": "show", "offset": 12}),
        (
            ["dlq", "redrive", "--offset", "3", "--offset", "18446744073709551615"],
            {"dlq_command": "redrive", "offsets": [3, 2**64 - 1], "reasons": []},
        ),
        (
            ["dlq", "redrive", "--reason", "unapplicable"],
            {"dlq_command": "redrive", "offsets": [], "reasons": ["unapplicable"]},
        ),
        (["seal-history", "--target", "docvault.events.sealed"], {"target": "docvault.events.sealed", "resume": False}),
        (["seal-history", "--target", "v2_events-1", "--resume"], {"target": "v2_events-1", "resume": True}),
    ],
    ids=[
        "run",
        "replay-default",
        "replay-from-offset",
        "rebuild",
        "lag",
        "export-defaults",
        "export-filters",
        "dlq-list",
        "dlq-list-reasons",
        "dlq-show",
        "dlq-redrive-offsets",
        "dlq-redrive-reason",
        "seal-history",
        "seal-history-resume",
    ],
)
def test_parse_arguments_reads_arguments_when_command_valid(argv: list[str], expected: dict[str, object]) -> None:
    args = vars(parse_arguments(argv))

    assert {key: args[key] for key in expected} == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["serve"],
        ["replay"],
        ["rebuild"],
        ["replay", "--version", "two"],
        ["replay", "--version", "2", "--from", "offset:-3"],
        ["rebuild", "--version", "2", "--from", "first"],
        ["export", "--from", "timestamp:2026-11-01T00:00:00"],
        ["export", "--since", "2026-11-01T00:00:00"],
        ["export", "--until", "tomorrow"],
        ["export", "--format", "xml"],
        ["export", "--owner", "me"],
        ["dlq"],
        ["dlq", "drop"],
        ["dlq", "show"],
        ["dlq", "show", "-1"],
        ["dlq", "show", "²"],
        ["dlq", "redrive"],
        ["dlq", "redrive", "--offset", "x"],
        ["dlq", "list", "--offset", "3"],
        ["seal-history"],
        ["seal-history", "--target", ""],
        ["seal-history", "--target", "a/b"],
        ["seal-history", "--target", "x" * 201],
    ],
    ids=[
        "no-command",
        "unknown-command",
        "replay-no-version",
        "rebuild-no-version",
        "version-not-int",
        "negative-offset",
        "rebuild-with-from",
        "naive-from",
        "naive-since",
        "bad-until",
        "bad-format",
        "owner-not-int",
        "dlq-no-command",
        "dlq-unknown-command",
        "dlq-show-no-offset",
        "dlq-show-negative",
        "dlq-show-superscript",
        "dlq-redrive-everything",
        "dlq-redrive-bad-offset",
        "dlq-list-by-offset",
        "seal-history-no-target",
        "seal-history-empty-target",
        "seal-history-target-with-slash",
        "seal-history-target-too-long",
    ],
)
def test_parse_arguments_exits_with_usage_error_when_arguments_invalid(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_arguments(argv)

    assert caught.value.code == 2
    assert "usage: python -m stream_processors" in capsys.readouterr().err
