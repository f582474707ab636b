"""Redis commands per update from a MONITOR capture: parsing, update claims, pipelines as one round trip."""

from __future__ import annotations

from bench.redis_trips import parse_monitor, round_trips, updates_claimed

CAPTURE = [
    "OK",
    '1733213012.000100 [12 127.0.0.1:5001] "INCR" "p:flood:42"',
    '1733213012.000110 [12 127.0.0.1:5001] "GET" "p:lang:42"',
    '1733213012.000120 [12 127.0.0.1:5001] "SET" "p:update:7" "1" "NX" "EX" "3600"',
    '1733213012.002000 [12 127.0.0.1:5001] "GET" "p:fsm:1:42:42:state"',
    '1733213012.002010 [12 127.0.0.1:5002] "GET" "p:nav:42:abc"',
    '1733213012.002020 [11 127.0.0.1:6001] "SET" "other:update:9" "1" "NX"',
]


def test_parse_monitor_keeps_the_databases_commands_with_key_kinds_when_other_databases_share_the_capture() -> None:
    commands = parse_monitor(CAPTURE, db=12)

    assert [command.name for command in commands] == ["INCR", "GET", "SET", "GET", "GET"]
    assert [command.key_kind for command in commands] == ["flood", "lang", "update", "fsm:state", "nav"]


def test_updates_claimed_counts_set_nx_of_update_keys_when_other_sets_are_present() -> None:
    assert updates_claimed(parse_monitor(CAPTURE, db=12)) == 1


def test_round_trips_merge_commands_close_together_on_one_connection_when_they_were_pipelined() -> None:
    assert round_trips(parse_monitor(CAPTURE, db=12), gap_seconds=0.0002) == 3
