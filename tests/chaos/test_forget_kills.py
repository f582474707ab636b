"""A forget survives crashes of both halves, as real processes: the processor SIGKILLed after it marked the forget and
before it committed the batch, the API SIGKILLed while its erasure worker is deleting the person's objects. Both
restarted, the forget completes: no read model of the person, no object under ``owners/<id>/``, the key destroyed,
the receipt written, and the other people untouched (docs/adr/0014)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from minio import Minio

from contracts.events import EventEnvelope, UserForgotten, new_event
from contracts.read_models import DocumentTypeView, DocumentView, UserView, read_model_database
from service_kit.forgetting import MARKERS_COLLECTION, RECEIPTS_COLLECTION
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import S3Settings
from tests import factories as f
from tests.api.support import added_from_upload
from tests.e2e.system import API_TOKEN, RunningSystem, running_system
from tests.integration.pipeline import publish
from tests.keyrings import TEST_KEYRING

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

GONE, STAYS, CROWD = 5101, 5102, 5103
DOCUMENTS = 120  # objects of the forgotten person: enough for the kill to land between the first and the last delete
CROWD_EVENTS = 300  # after the forget in its batch: the window between the marker and the commit
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
WAIT_SECONDS = 90.0


async def uploads(system: RunningSystem, owner_id: int, count: int) -> list[EventEnvelope]:
    """``count`` files stored through the API and the ``document.added`` the bot would append for each."""
    added = []
    async with httpx.AsyncClient(base_url=system.api_url, headers=AUTH, timeout=30) as http:
        for i in range(count):
            response = await http.post(
                f"/v1/owners/{owner_id}/files",
                content=f"%PDF-1.7 document {i} of {owner_id}".encode(),
                headers={"Content-Type": "application/pdf"},
            )
            assert response.status_code == 201, response.text
            added.append(await added_from_upload(http, owner_id, f"Scan {i}", response.json(), step=i + 1))
    return added


def objects_of(s3: Minio, bucket: str, owner_id: int) -> list[str]:
    return sorted(str(o.object_name) for o in s3.list_objects(bucket, prefix=f"owners/{owner_id}/", recursive=True))


async def until(check: Callable[[], Awaitable[bool]], what: str, every: float = 0.005) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not await check():
        assert loop.time() < deadline, f"gave up waiting: {what}"
        await asyncio.sleep(every)


async def sigkill(system: RunningSystem, name: str) -> None:
    service = system.services[name]
    service.process.send_signal(signal.SIGKILL)
    assert await service.stop() == -signal.SIGKILL


class Stores:
    """The system's MongoDB and S3, read directly."""

    def __init__(self, system: RunningSystem) -> None:
        self.client = mongo_client(system.mongo)
        self.read_models = self.client[read_model_database(system.mongo.database, 1)]
        self.keys = self.client[keys_database_name(system.mongo)]
        self.bucket = system.envs["api"]["S3_BUCKET"]
        s3 = S3Settings()
        self.s3 = Minio(s3.endpoint, s3.access_key.get_secret_value(), s3.secret_key.get_secret_value(), secure=False)

    async def documents_of(self, owner_id: int) -> int:
        return await self.read_models[DocumentView.Settings.name].count_documents({"owner_id": owner_id})

    async def marked(self, owner_id: int) -> bool:
        return await self.keys[MARKERS_COLLECTION].find_one({"_id": owner_id}) is not None

    async def objects(self, owner_id: int) -> list[str]:
        return await asyncio.to_thread(objects_of, self.s3, self.bucket, owner_id)

    async def what_remains_of(self, owner_id: int) -> dict[str, Any]:
        keys = await KeyStore(self.keys, TEST_KEYRING, cache_seconds=0).find([owner_id])
        return {
            "documents": await self.documents_of(owner_id),
            "types": await self.read_models[DocumentTypeView.Settings.name].count_documents({"owner_id": owner_id}),
            "user": await self.read_models[UserView.Settings.name].count_documents({"_id": owner_id}),
            "objects": len(await self.objects(owner_id)),
            "key": owner_id in keys,
        }


async def test_forget_erases_the_person_and_nothing_else_when_processor_and_api_are_sigkilled_mid_way(
    tmp_path: Path,
) -> None:
    async with running_system(
        "polling", tmp_path, overrides={"ERASURE_POLL_SECONDS": "0.1", "UPLOAD_PLAIN_SHA256": "true"}
    ) as system:
        stores = Stores(system)
        try:
            gone, stays = await uploads(system, GONE, DOCUMENTS), await uploads(system, STAYS, 2)
            # At the bot's time, as the bot appends it: the key the uploads made is older, and so is destroyed.
            forget = new_event(UserForgotten(), owner_id=GONE, correlation_id="forget", occurred_at=datetime.now(UTC))
            crowd = [f.added(CROWD, f"Receipt {i}", "Receipts", step=DOCUMENTS + 11 + i) for i in range(CROWD_EVENTS)]
            await publish(system.rabbit, [f.started(GONE), f.started(STAYS), *gone, *stays])
            await until(lambda: _equals(stores.documents_of(GONE), DOCUMENTS), "the person's documents applied")
            await system.services["processor"].stop()  # the forget and the crowd then come in one batch
            await publish(system.rabbit, [forget, *crowd])

            await system.start("processor")
            await until(lambda: stores.marked(GONE), "the forget marked")
            await sigkill(system, "processor")
            assert await stores.documents_of(GONE) == DOCUMENTS  # killed mid-way: marked, not committed
            await system.start("processor")

            await until(lambda: _below(stores.objects(GONE), DOCUMENTS), "the erasure worker's first deletion")
            await sigkill(system, "api")
            assert 0 < len(await stores.objects(GONE)) < DOCUMENTS  # killed mid-way: some objects left
            await system.start("api")

            receipts = stores.keys[RECEIPTS_COLLECTION]
            await until(lambda: _exists(receipts.find_one({"_id": str(forget.event_id)})), "the receipt", every=0.1)
            assert await stores.what_remains_of(GONE) == {
                "documents": 0,
                "types": 0,
                "user": 0,
                "objects": 0,
                "key": False,
            }
            assert await stores.what_remains_of(STAYS) == {
                "documents": 2,
                "types": 1,
                "user": 1,
                "objects": 2,
                "key": True,
            }
            await until(lambda: _equals(stores.documents_of(CROWD), CROWD_EVENTS), "the crowd applied", every=0.1)
        finally:
            await stores.client.close()


async def _equals(count: Awaitable[int], expected: int) -> bool:
    return await count == expected


async def _below(objects: Awaitable[list[str]], limit: int) -> bool:
    return len(await objects) < limit


async def _exists(found: Awaitable[Any]) -> bool:
    return await found is not None
