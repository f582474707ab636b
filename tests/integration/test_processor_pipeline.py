"""The processor against the real RabbitMQ stream and a wire-compatible MongoDB."""

from __future__ import annotations

import pytest

from contracts.vocabulary import DocumentStatus
from service_kit.settings import MongoSettings, RabbitSettings
from tests import factories as f
from tests.integration.pipeline import process_all, processor_settings, publish, snapshot

pytestmark = pytest.mark.integration


async def test_processor_materializes_exact_read_models_when_events_are_appended(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    passport = f.added(1, "Passport", "Passport", step=1)
    contract = f.added(1, "Lease", "Contracts", step=2)
    other = f.added(2, "Passport", "Passport", step=3)
    events = [
        f.started(1, "ru", 0),
        passport,
        contract,
        other,
        f.renamed(1, f.document_id_of(contract), "Lease 2026", 4),
        f.deleted(1, f.document_id_of(passport), 5),
    ]
    await publish(rabbit_settings, events)

    await process_all(processor_settings(rabbit_settings, mongo_settings))

    state = await snapshot(mongo_settings)
    documents = {d["_id"]: d for d in state["documents"]}
    assert documents[str(f.document_id_of(contract))]["name"] == "Lease 2026"
    assert documents[str(f.document_id_of(passport))]["status"] == "deleted"
    assert documents[str(f.document_id_of(other))]["status"] == DocumentStatus.live
    counts = {t["_id"]: t["live_count"] for t in state["document_types"]}
    assert counts == {"1:passport": 0, "1:contracts": 1, "2:passport": 1}
    assert [(u["_id"], u["language"]) for u in state["users"]] == [(1, "ru")]
