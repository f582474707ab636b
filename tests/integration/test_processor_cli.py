"""The processor's command line and ops endpoints, as separate processes against the real services."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

from contracts.codec import encode_event
from contracts.read_models import ACTIVE_VERSION_ID, CONTROL_COLLECTION
from service_kit.eventlog import StartAt, StreamRecord
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from stream_processors.processor import DeadLetter, dead_letter_message
from tests import factories as f
from tests.integration.pipeline import (
    process_all,
    processor_settings,
    publish,
    publish_raw,
    read_stream,
    readable_snapshot,
    start_processor_process,
    wait_for_checkpoint,
)
from tests.ports import free_port
from tests.streams import delete_streams

pytestmark = pytest.mark.integration


def cli(rabbit: RabbitSettings, mongo: MongoSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RABBITMQ_EVENTS_STREAM": rabbit.events_stream,
        "RABBITMQ_DEAD_LETTER_STREAM": rabbit.dead_letter_stream,
        "MONGO_DATABASE": mongo.database,
    }
    return subprocess.run(
        [sys.executable, "-m", "stream_processors", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
async def mixed_stream(rabbit_settings: RabbitSettings) -> None:
    await publish(
        rabbit_settings,
        [f.started(1, step=0), f.added(1, "Паспорт, «скан»", step=1), f.added(2, "Lease", "Contracts", step=2)],
    )
    await publish_raw(rabbit_settings, [b"\x00garbage"])
    await publish(rabbit_settings, [f.added(1, "Receipt", "Receipts", step=4)])


async def test_export_writes_filtered_jsonl_when_asked_for_one_type_and_owner(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings, mixed_stream: None
) -> None:
    result = cli(rabbit_settings, mongo_settings, "export", "--type", "document.added", "--owner", "1")

    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["offset"], r["payload"]["name"]) for r in rows] == [(1, "Паспорт, «скан»"), (4, "Receipt")]
    assert "exported=2 skipped=2 undecodable=1" in result.stderr


async def test_export_writes_csv_file_when_a_time_range_is_given(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings, mixed_stream: None, tmp_path: object
) -> None:
    target = os.path.join(str(tmp_path), "events.csv")
    result = cli(
        rabbit_settings,
        mongo_settings,
        "export",
        "--format",
        "csv",
        "--output",
        target,
        "--since",
        f.at(1).isoformat(),
        "--until",
        f.at(3).isoformat(),
    )

    assert result.returncode == 0, result.stderr
    with open(target, encoding="utf-8", newline="") as exported:
        rows = list(csv.DictReader(exported))
    assert [json.loads(r["payload"])["name"] for r in rows] == ["Паспорт, «скан»", "Lease"]


async def test_export_writes_nothing_when_started_past_the_end(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings, mixed_stream: None
) -> None:
    result = cli(rabbit_settings, mongo_settings, "export", "--from", "offset:1000")

    assert (result.returncode, result.stdout) == (0, "")


async def test_rebuild_projects_a_new_version_and_makes_it_served_when_run(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings, mixed_stream: None
) -> None:
    result = cli(rabbit_settings, mongo_settings, "rebuild", "--version", "2")

    assert result.returncode == 0, result.stderr
    assert sorted(d["name"] for d in (await readable_snapshot(mongo_settings, 2))["documents"]) == [
        "Lease",
        "Receipt",
        "Паспорт, «скан»",
    ]
    client = mongo_client(mongo_settings)
    try:
        control = await client[mongo_settings.database][CONTROL_COLLECTION].find_one({"_id": ACTIVE_VERSION_ID})
    finally:
        await client.close()
    assert control is not None and control["version"] == 2
    lag = cli(rabbit_settings, mongo_settings, "lag", "--version", "2")
    assert "checkpoint offset 4" in lag.stdout and "lag 0 events" in lag.stdout


async def test_replay_refuses_arguments_when_the_start_is_malformed(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    result = cli(rabbit_settings, mongo_settings, "replay", "--version", "2", "--from", "timestamp:yesterday")

    assert result.returncode == 2
    assert "not an ISO 8601 time" in result.stderr


async def test_run_serves_health_readiness_and_consumed_counters_when_running(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings, mixed_stream: None
) -> None:
    port = free_port()
    process = start_processor_process(rabbit_settings, mongo_settings, batch_size=10, http_port=port)
    try:
        await wait_for_checkpoint(mongo_settings, 4)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            health, ready, metrics = [await http.get(path) for path in ("/healthz", "/readyz", "/metrics")]
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(process.wait, 30)
    assert (health.status_code, ready.status_code, exit_code) == (200, 200, 0)
    assert (
        'docvault_events_consumed_total{event_type="document.added",outcome="applied",processor="read-models"} 3.0'
        in metrics.text
    )
    assert 'docvault_dead_lettered_total{reason="malformed",stream="' + rabbit_settings.events_stream in metrics.text


async def test_dlq_lists_shows_and_redrives_dead_letters_when_asked(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    unapplied = f.added(7, "Вернётся", step=1)
    letters = [
        DeadLetter(StreamRecord(3, 0, b"\x00garbage"), "malformed", "expected a described section at byte 0"),
        DeadLetter(StreamRecord(4, 0, encode_event(unapplied)), "unapplicable", "ValueError: a bug, now fixed"),
    ]
    await publish_raw(
        rabbit_settings,
        [bytes(dead_letter_message(letter, rabbit_settings.events_stream, "read-models@v1")) for letter in letters],
        stream=rabbit_settings.dead_letter_stream,
    )

    listed = cli(rabbit_settings, mongo_settings, "dlq", "list")
    shown = cli(rabbit_settings, mongo_settings, "dlq", "show", "1")
    missing = cli(rabbit_settings, mongo_settings, "dlq", "show", "9")
    redriven = cli(rabbit_settings, mongo_settings, "dlq", "redrive", "--reason", "unapplicable")

    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [row[:5] for row in rows] == [
        ["offset", "source_offset", "reason", "event_type", "event_id"],
        ["0", "3", "malformed", "-", "-"],
        ["1", "4", "unapplicable", "document.added", str(unapplied.event_id)],
    ]
    assert json.loads(shown.stdout)["event"]["payload"]["name"] == "Вернётся"
    assert (missing.returncode, "no dead letter at offset 9" in missing.stderr) == (1, True)
    assert redriven.stdout == f"redriven 1 dead letter(s) to {rabbit_settings.events_stream}\n"
    await process_all(processor_settings(rabbit_settings, mongo_settings))
    assert [d["name"] for d in (await readable_snapshot(mongo_settings))["documents"]] == ["Вернётся"]


async def test_seal_history_seals_the_v1_names_and_prints_a_summary_when_run_as_a_command(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings, mixed_stream: None
) -> None:
    target = f"{rabbit_settings.events_stream}.sealed"
    try:
        result = cli(rabbit_settings, mongo_settings, "seal-history", "--target", target)
        again = cli(rabbit_settings, mongo_settings, "seal-history", "--target", target)
        records = await read_stream(rabbit_settings, target, StartAt.first(), 5)
        source = await read_stream(rabbit_settings, rabbit_settings.events_stream, StartAt.first(), 5)
    finally:
        await delete_streams(rabbit_settings, target)

    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("through offset 4: copied=1 sealed=3 redacted=0 undecodable=1\n")
    assert "at offsets 3" in result.stderr and again.returncode == 1 and "--resume" in again.stderr
    assert any("Паспорт".encode() in record.data for record in source)
    assert len(records) == 5 and not any("Паспорт".encode() in record.data for record in records)
