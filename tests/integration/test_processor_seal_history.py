"""``seal-history`` against the real RabbitMQ stream and SecantusDB: a history with v1 plain events carrying a
marker, v2 sealed events, a forgotten person and a record that does not decode, copied into a new stream; the new
stream holds no marker, keeps every record in order, and rebuilds the read models the old one built."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from contracts.codec import encode_event
from service_kit.crypto import PersonKeys
from service_kit.eventlog import StartAt, StreamRecord, ensure_events_stream
from service_kit.keyed import V1_CONTENT
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from stream_processors import commands, history
from tests import factories as f
from tests.integration.pipeline import process_all, processor_settings, publish, publish_raw, read_stream, snapshot
from tests.integration.privacy_scan import live_keys, stream_hits
from tests.keyrings import TEST_KEYRING
from tests.streams import delete_streams

pytestmark = pytest.mark.integration

PLAIN, SEALED, GONE = 51001, 51002, 51003
GARBAGE = b"\x00not an event"


@pytest.fixture
async def target(rabbit_settings: RabbitSettings) -> AsyncIterator[RabbitSettings]:
    """The new stream (and a dead-letter stream for its rebuild), deleted afterwards."""
    sealed = RabbitSettings(
        events_stream=f"{rabbit_settings.events_stream}.sealed",
        dead_letter_stream=f"{rabbit_settings.dead_letter_stream}.sealed",
    )
    yield sealed
    await delete_streams(sealed, sealed.events_stream, sealed.dead_letter_stream)


async def _sealed_keys(mongo: MongoSettings) -> PersonKeys:
    client = mongo_client(mongo)
    try:
        return await KeyStore(client[keys_database_name(mongo)], TEST_KEYRING).get_or_create(SEALED)
    finally:
        await client.close()


async def _history(rabbit: RabbitSettings, mongo: MongoSettings, marker: str) -> int:
    """Publish the mixed history; returns how many records it has."""
    keys = await _sealed_keys(mongo)
    plain = f.added(PLAIN, f"Passport {marker}", f"Papers {marker}", step=1)
    plain_file = plain.payload.file.model_copy(update={"file_name": f"{marker}.pdf"})  # type: ignore[union-attr]
    plain = plain.model_copy(update={"payload": plain.payload.model_copy(update={"file": plain_file})})
    kept = f.sealed_added(keys, "Lease", "Contracts", step=2)
    gone = f.added(GONE, f"Diary {marker}", step=3)
    events = [
        f.started(PLAIN, "ru", 0),
        plain,
        f.renamed(PLAIN, f.document_id_of(plain), f"Old passport {marker}", 4),
        f.added(PLAIN, "Receipt", "Receipts", content="same bytes", step=5),
        kept,
        gone,
        f.renamed(GONE, f.document_id_of(gone), f"Secret {marker}", 6),
        f.deleted(SEALED, f.document_id_of(kept), 7),
        f.restored(SEALED, f.document_id_of(kept), 8),
    ]
    await publish(rabbit, events[:5])
    await publish_raw(rabbit, [GARBAGE])
    await publish(
        rabbit, [*events[5:], f.forgotten(GONE, 9), f.added(PLAIN, "Receipt 2", content="same bytes", step=10)]
    )
    return len(events) + 3


def _without_plain_sha256(rows: list[dict[str, Any]], keys: dict[int, PersonKeys]) -> list[dict[str, Any]]:
    """The documents a v1 history built, with each plain sha256 replaced as seal-history replaces it."""
    changed = []
    for row in rows:
        sha256 = row["file"]["sha256"]
        if sha256 is not None:
            content_id = keys[row["owner_id"]].keyed(V1_CONTENT, sha256)
            assert row["content_key"] == f"{row['owner_id']}|{sha256}"
            row = row | {"file": row["file"] | {"sha256": None, "content_id": content_id}}
            row["content_key"] = f"{row['owner_id']}|{content_id}"
        changed.append(row)
    return changed


def _plaintext(record: StreamRecord) -> bool:
    event = history.decoded(record.data)
    return event is not None and history.carries_plaintext(event)


def _event_ids(records: list[StreamRecord]) -> list[str]:
    return [str(event.event_id) if (event := history.decoded(r.data)) else r.data.hex() for r in records]


async def test_seal_history_leaves_no_marker_and_rebuilds_the_same_read_models_when_history_holds_v1_events(
    rabbit_settings: RabbitSettings,
    mongo_settings: MongoSettings,
    target: RabbitSettings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    marker = f"plain{uuid.uuid4().hex[:12]}"
    count = await _history(rabbit_settings, mongo_settings, marker)
    settings = processor_settings(rabbit_settings, mongo_settings)
    await process_all(settings)
    out = io.StringIO()

    exit_code = await commands.seal_history(settings, target.events_stream, False, out)

    old = await read_stream(rabbit_settings, rabbit_settings.events_stream, StartAt.first(), count)
    new = await read_stream(rabbit_settings, target.events_stream, StartAt.first(), count)
    assert exit_code == 0, capsys.readouterr().err
    assert len(stream_hits(old, marker)) == 4 and stream_hits(new, marker) == []
    assert [r.offset for r in new] == list(range(count)) and _event_ids(new) == _event_ids(old)
    assert [n.data == o.data for o, n in zip(old, new, strict=True)] == [not _plaintext(r) for r in old]
    assert out.getvalue().endswith(
        f"through offset {count - 1}: copied={count - 7} sealed=4 redacted=2 undecodable=1\n"
    )
    assert "undecodable records copied as they are (dead-lettered as before) at offsets 5" in capsys.readouterr().err
    await process_all(processor_settings(target, mongo_settings), version=2)
    keys = {k.owner_id: k for k in await live_keys(mongo_settings)}
    before, after = await snapshot(mongo_settings), await snapshot(mongo_settings, version=2)
    assert set(keys) == {PLAIN, SEALED} and before["documents"] and after["documents"]
    assert after == before | {"documents": _without_plain_sha256(before["documents"], keys)}


async def test_seal_history_refuses_then_resumes_as_a_no_op_when_run_again(
    rabbit_settings: RabbitSettings,
    mongo_settings: MongoSettings,
    target: RabbitSettings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    count = await _history(rabbit_settings, mongo_settings, "again")
    settings = processor_settings(rabbit_settings, mongo_settings)
    assert await commands.seal_history(settings, target.events_stream, False, io.StringIO()) == 0
    out = io.StringIO()

    refused = await commands.seal_history(settings, target.events_stream, False, out)
    resumed = await commands.seal_history(settings, target.events_stream, True, out)

    assert refused == 1 and f"already holds {count} records: give --resume" in capsys.readouterr().err
    assert (
        resumed == 0
        and out.getvalue()
        == f"nothing to copy: {target.events_stream} already holds the {count} records of {rabbit_settings.events_stream}\n"  # noqa: E501
    )
    assert len(await read_stream(rabbit_settings, target.events_stream, StartAt.first(), count)) == count


async def test_seal_history_continues_after_the_records_copied_when_resumed_after_more_were_appended(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings, target: RabbitSettings
) -> None:
    count = await _history(rabbit_settings, mongo_settings, "resume")
    settings = processor_settings(rabbit_settings, mongo_settings)
    assert await commands.seal_history(settings, target.events_stream, False, io.StringIO()) == 0
    late = f.added(PLAIN, "Late plain", step=20)
    await publish(rabbit_settings, [late])
    out = io.StringIO()

    assert await commands.seal_history(settings, target.events_stream, True, out) == 0

    new = await read_stream(rabbit_settings, target.events_stream, StartAt.first(), count + 1)
    assert len(new) == count + 1 and _event_ids(new)[-1] == str(late.event_id)
    assert b"Late plain" not in new[-1].data and "copied=0 sealed=1 redacted=0 undecodable=0" in out.getvalue()


async def test_seal_history_refuses_when_the_target_holds_another_history(
    rabbit_settings: RabbitSettings,
    mongo_settings: MongoSettings,
    target: RabbitSettings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _history(rabbit_settings, mongo_settings, "other")
    await ensure_events_stream(target, target.events_stream)
    await publish_raw(target, [encode_event(f.started(PLAIN, "en", 0))], stream=target.events_stream)
    settings = processor_settings(rabbit_settings, mongo_settings)

    exit_code = await commands.seal_history(settings, target.events_stream, True, io.StringIO())

    assert exit_code == 1 and "record 0 of" in capsys.readouterr().err


async def test_seal_history_refuses_when_the_target_is_the_source(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = processor_settings(rabbit_settings, mongo_settings)

    exit_code = await commands.seal_history(settings, rabbit_settings.events_stream, False, io.StringIO())

    assert exit_code == 1 and "must be a new stream" in capsys.readouterr().err
