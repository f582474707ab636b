"""Sealed events through the real processor and stream: a tampered value is dead-lettered with its reason, one
sealed under a forgotten key applies as a no-op; and no log line of processor or API carries a person's text."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from rstream import AMQPMessage

from contracts.codec import encode_event
from contracts.events import EventEnvelope
from service_kit.crypto import PersonKeys
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.logging import JsonFormatter, quiet_libraries
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings, S3Settings
from stream_processors.commands import dead_letter_entries
from tests import factories as f
from tests.api.support import AUTH, Projector, added_from_upload, api_settings_for, running_api, upload
from tests.integration.pipeline import ledger, process_all, processor_settings, publish_raw, readable_snapshot
from tests.keyrings import TEST_KEYRING
from tests.s3_cleanup import remove_bucket

pytestmark = pytest.mark.integration

OWNER = 6_100_000_001
FORGOTTEN = PersonKeys(OWNER, bytes(32), "00000000000000aa")
MARKER = "Zyzzyvamarker"


async def _person_keys(mongo: MongoSettings, owner_id: int = OWNER) -> PersonKeys:
    client = mongo_client(mongo)
    try:
        return await KeyStore(client[keys_database_name(mongo)], TEST_KEYRING).get_or_create(owner_id)
    finally:
        await client.close()


def _tampered(event: EventEnvelope) -> bytes:
    raw = json.loads(event.model_dump_json())
    head, body = raw["payload"]["name"].rsplit(".", 1)
    raw["payload"]["name"] = f"{head}.{'A' if body[0] != 'A' else 'B'}{body[1:]}"
    return bytes(AMQPMessage(body=json.dumps(raw).encode()))


async def test_processor_dead_letters_tampered_value_and_ignores_forgotten_one_when_sealed_events_arrive(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    keys = await _person_keys(mongo_settings)
    first, tampered = f.sealed_added(keys, "Паспорт", step=1), f.sealed_added(keys, "Виза", step=2)
    records = [
        encode_event(first),
        _tampered(tampered),
        encode_event(f.sealed_added(FORGOTTEN, "Старый", step=3)),
        encode_event(f.sealed_renamed(keys, f.document_id_of(first), "Загранпаспорт", step=4)),
    ]
    await publish_raw(rabbit_settings, records)
    settings = processor_settings(rabbit_settings, mongo_settings)

    await process_all(settings)

    entries = await dead_letter_entries(settings)
    assert [(e.source_offset, e.reason) for e in entries] == [(1, "unapplicable")]
    assert entries[0].detail.startswith("BrokenCiphertext") and "Виза" not in entries[0].detail
    assert sorted(entry["effect"] for entry in (await ledger(mongo_settings)).values()) == [
        "created",
        "ignored_forgotten",
        "renamed",
    ]
    [document] = (await readable_snapshot(mongo_settings))["documents"]
    assert (document["name"], document["file"]["file_name"]) == ("Загранпаспорт", "scan.pdf")


@pytest.fixture
def s3_settings(unique_name: str) -> Iterator[S3Settings]:
    settings = S3Settings(bucket=f"logs-{unique_name}")
    yield settings
    remove_bucket(settings)


async def test_logs_carry_no_name_title_file_name_or_typed_text_when_a_flow_runs_through_processor_and_api(
    mongo_settings: MongoSettings, s3_settings: S3Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything DocVault logs, libraries as configure_logging sets them
    quiet_libraries(logging.DEBUG)
    projector = Projector(mongo_settings)
    async with running_api(api_settings_for(mongo_settings, s3_settings), AUTH) as api:
        base = f"/v1/owners/{OWNER}"
        typed = {"name": f"{MARKER} one", "type_title": f"{MARKER} type", "file_name": f"{MARKER}.pdf"}
        sealed = (await api.post(f"{base}/seal", json=typed)).json()
        uploaded = await upload(api, OWNER, b"%PDF " + MARKER.encode(), file_name=f"{MARKER}.pdf")
        plain = await added_from_upload(api, OWNER, f"{MARKER} two", uploaded, f"{MARKER} type", step=1)
        await projector.apply(plain, f.renamed(OWNER, f.document_id_of(plain), f"{MARKER} three", step=2))
        keys = await _person_keys(mongo_settings)
        await projector.apply(
            f.sealed_added(keys, f"{MARKER} four", f"{MARKER} type", step=3, file_name=f"{MARKER}.pdf")
        )
        answers = [
            await api.get(f"{base}/types"),
            await api.get(f"{base}/documents/search", params={"q": MARKER}),
            await api.get(f"{base}/name-check", params={"type_slug": sealed["type_slug"], "name": MARKER}),
            await api.get(f"{base}/documents/{f.document_id_of(plain)}"),
            await api.get(f"{base}/documents/{f.document_id_of(plain)}/file"),
            await api.post(f"{base}/seal", json={"name": "\x00"}),
        ]

    assert uploaded["size"] > 0 and [a.status_code for a in answers] == [200, 200, 200, 200, 200, 422]
    assert MARKER in answers[1].text  # the flow did carry the marker through
    formatter = JsonFormatter("test")
    lines = [formatter.format(record) for record in caplog.records]
    assert lines, "nothing was logged: the scan would prove nothing"
    assert [line for line in lines if MARKER.lower() in line.lower()] == []
