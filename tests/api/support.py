"""Helpers of the API tests: settings, an in-process API client, events made from uploads, the projector."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
from minio import Minio
from pydantic import SecretStr

from api.app import create_app
from api.settings import ApiSettings
from contracts.api_schemas import SealedTexts, UploadedFile
from contracts.codec import encode_event
from contracts.events import DocumentAdded, DocumentAddedV2, DocumentAddedV3, EventEnvelope, StoredFile, new_event
from contracts.read_models import READ_MODELS, read_model_database
from contracts.text import type_slug
from service_kit.crypto import KEYED_HASH_HEX, PersonKeys
from service_kit.eventlog import RawPublisher, StreamRecord
from service_kit.keyed import TYPE
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import init_read_models, mongo_client
from service_kit.settings import MongoSettings, RabbitSettings, S3Settings, master_keyring
from stream_processors.processor import Processor, ProcessorIdentity
from tests.factories import at
from tests.keyrings import TEST_KEYRING, TEST_MASTER_KEYS
from tests.mongo_cleanup import drop_databases
from tests.s3_cleanup import remove_bucket

TOKEN = "test-service-token-0123456789"
LINK_KEY = "test-link-signing-key-0123456789abcdef"
PUBLIC_BASE_URL = "https://docs.example.org"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MIB = 1024 * 1024
PDF = "application/pdf"


def api_settings_for(mongo: MongoSettings, s3: S3Settings, **overrides: Any) -> ApiSettings:
    """Settings of a test API; validated like the environment would be, but independent of it."""
    values: dict[str, Any] = {
        "api_service_token": TOKEN,
        "master_keys": TEST_MASTER_KEYS,
        "link_signing_key": LINK_KEY,
        "public_base_url": PUBLIC_BASE_URL,
        "mongo": mongo,
        "s3": s3,
        "read_model_poll_seconds": 0,
        "read_your_writes_timeout_seconds": 0.3,
        "upload_part_bytes": 5 * MIB,
        "s3_retries": 0,
        # Erasures are run by the tests that check them (tests/api/test_erasure.py), not behind the others' backs.
        "erasure_poll_seconds": 0,
    }
    return ApiSettings.model_validate(values | overrides)


async def forget(mongo: MongoSettings, s3: S3Settings) -> None:
    """Drop every read-model database under ``mongo.database`` and remove the bucket."""
    await drop_databases(mongo)
    remove_bucket(s3)


@asynccontextmanager
async def running_api(settings: ApiSettings, headers: dict[str, str] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, called in-process over ASGI (its MongoDB and S3 calls use real sockets)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test", headers=headers) as client:
            yield client


class Projector:
    """Applies events with the real processor (decode, project, one transaction, ledger) without a broker."""

    def __init__(self, mongo: MongoSettings, version: int = 1) -> None:
        self._mongo = mongo
        self._version = version
        self._next_offset = 0

    async def apply(self, *events: EventEnvelope) -> None:
        client = mongo_client(self._mongo)
        try:
            database = client[read_model_database(self._mongo.database, self._version)]
            await init_read_models(database, READ_MODELS)
            # Never used: every event given here decodes, so nothing is dead-lettered.
            dead_letters = RawPublisher(RabbitSettings(), "unused.dlq", "unused")
            identity = ProcessorIdentity("read-models", self._version)
            keys = KeyStore(client[keys_database_name(self._mongo)], TEST_KEYRING)
            processor = Processor(identity, client, database, dead_letters, "api", keys=keys)
            records = [StreamRecord(self._next_offset + i, 0, encode_event(e)) for i, e in enumerate(events)]
            self._next_offset += len(events)
            await processor.start()
            try:
                await processor.process(records)
            finally:
                await processor.close()
        finally:
            await client.close()


async def upload(
    api: httpx.AsyncClient, owner_id: int, data: bytes, media_type: str = PDF, file_name: str | None = "scan.pdf"
) -> dict[str, Any]:
    headers = {"Content-Type": media_type}
    if file_name is not None:
        headers["X-File-Name"] = quote(file_name)
    response = await api.post(f"/v1/owners/{owner_id}/files", content=data, headers=headers)
    assert response.status_code == 201, response.text
    uploaded: dict[str, Any] = response.json()
    return uploaded


async def added_from_upload(
    api: httpx.AsyncClient,
    owner_id: int,
    name: str,
    uploaded: dict[str, Any],
    type_title: str = "Passport",
    step: int = 0,
    file_name: str | None = None,
) -> EventEnvelope:
    """The ``document.added`` the bot appends after an upload: v2, the texts sealed through ``POST /seal`` and the
    file as the API stored it (``bot.services.saving``); ``file_name`` replaces the upload's (sealed the same way).
    An upload stored in the clear (``ENCRYPT_UPLOADS`` off: a v1 object, no content id) gets the v1 event a bot
    wrote before encryption, plain sha256 and all."""
    if not uploaded["encrypted"]:
        return _plain_added(owner_id, name, uploaded, type_title, step, file_name)
    typed = {"name": name, "type_title": type_title} | ({"file_name": file_name} if file_name is not None else {})
    response = await api.post(f"/v1/owners/{owner_id}/seal", json=typed)
    assert response.status_code == 200, response.text
    sealed = SealedTexts.model_validate_json(response.content)
    assert sealed.name is not None and sealed.type_title is not None and sealed.type_slug is not None
    stored = UploadedFile.model_validate(uploaded).model_dump(include=_AS_STORED, exclude_none=True)
    if sealed.file_name is not None:
        stored["file_name"] = sealed.file_name.sealed
    payload = DocumentAddedV2(
        document_id=uuid.uuid4(),
        type_slug=sealed.type_slug,
        type_title=sealed.type_title.sealed,
        name=sealed.name.sealed,
        file=StoredFile.model_validate(stored),
    )
    return new_event(payload, owner_id=owner_id, correlation_id=f"upload-{step}", occurred_at=at(step))


_AS_STORED = {"object_key", "size", "mime_type", "file_name", "content_id", "encrypted"}


async def page_upload(
    api: httpx.AsyncClient, owner_id: int, data: bytes, name: str = "page.pdf", media_type: str = PDF
) -> httpx.Response:
    """A later page's upload (``POST /files?page=true``), as the bot sends each page after an album's first."""
    headers = {"Content-Type": media_type, "X-File-Name": quote(name)}
    return await api.post(f"/v1/owners/{owner_id}/files", params={"page": "true"}, content=data, headers=headers)


def stored_file(uploaded: dict[str, Any], telegram_file_id: str) -> StoredFile:
    as_stored = {key: uploaded[key] for key in _AS_STORED if uploaded.get(key) is not None}
    return StoredFile.model_validate(as_stored | {"telegram_file_id": telegram_file_id})


def album_added(
    keys: PersonKeys,
    uploads: list[dict[str, Any]],
    name: str = "Lease",
    type_title: str = "Contracts",
    step: int = 0,
) -> EventEnvelope:
    """The ``document.added`` v3 of an album: the uploads as its pages in order, the texts sealed with ``keys``."""
    first, *more = [stored_file(uploaded, f"tg-{i}") for i, uploaded in enumerate(uploads, 1)]
    payload = DocumentAddedV3(
        document_id=uuid.uuid4(),
        type_slug=keys.keyed(TYPE, type_slug(type_title)),
        type_title=keys.seal("type_title", type_title),
        name=keys.seal("name", name),
        file=first,
        more_pages=more,
    )
    return new_event(payload, owner_id=keys.owner_id, correlation_id=f"album-{step}", occurred_at=at(step))


def _plain_added(
    owner_id: int, name: str, uploaded: dict[str, Any], type_title: str, step: int, file_name: str | None
) -> EventEnvelope:
    as_stored = {key: uploaded[key] for key in ("object_key", "sha256", "size", "mime_type")}
    named = file_name if file_name is not None else uploaded.get("file_name")
    stored = StoredFile.model_validate(as_stored | {"file_name": named})
    payload = DocumentAdded(
        document_id=uuid.uuid4(), type_slug=type_slug(type_title), type_title=type_title, name=name, file=stored
    )
    return new_event(payload, owner_id=owner_id, correlation_id=f"upload-{step}", occurred_at=at(step))


async def person_keys(mongo: MongoSettings, owner_id: int) -> PersonKeys:
    """The person's data key as the API holds it (created if they have none yet)."""
    client = mongo_client(mongo)
    try:
        keyring = master_keyring(SecretStr(TEST_MASTER_KEYS))
        return await KeyStore(client[keys_database_name(mongo)], keyring).get_or_create(owner_id)
    finally:
        await client.close()


def content_id(keys: PersonKeys, data: bytes) -> str:
    """The keyed content id the API gives these bytes of this person."""
    running = keys.content_hasher()
    running.update(data)
    return running.hexdigest()[:KEYED_HASH_HEX]


def stored_keys(raw_s3: Minio, bucket: str) -> list[str]:
    """Every object in the bucket (staging included)."""
    return sorted(str(item.object_name) for item in raw_s3.list_objects(bucket, recursive=True))


def open_multipart_uploads(s3: S3Settings) -> list[str]:
    """Multipart uploads started and neither completed nor aborted (moto checks no signature)."""
    listing = httpx.get(f"http://{s3.endpoint}/{s3.bucket}?uploads").text
    return re.findall(r"<UploadId>([^<]+)</UploadId>", listing)
