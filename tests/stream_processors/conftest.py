"""Unit tests of the processors run without any server.

The projections build beanie documents, and beanie refuses to build one before ``init_beanie``, which asks
the server for ``buildInfo``. Binding the models to a never-contacted client (indexes skipped) is enough for
building and dumping them; nothing here reads or writes a database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from beanie.exceptions import CollectionWasNotInitialized
from beanie.odm.utils.init import Initializer
from pymongo import AsyncMongoClient

from contracts.read_models import READ_MODELS, DocumentView


class _OfflineInitializer(Initializer):
    async def _load_cached_info(self) -> None:
        self._database_major_version = 8
        self._existing_collections = []


@pytest.fixture(scope="session", autouse=True)
async def read_models_bound_offline() -> AsyncIterator[None]:
    try:
        DocumentView.get_settings()
        yield  # already bound (e.g. by an integration test in the same session): leave it be
        return
    except CollectionWasNotInitialized:
        pass
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient("mongodb://127.0.0.1:9", connect=False)
    await _OfflineInitializer(database=client["docvault_unit"], document_models=READ_MODELS, skip_indexes=True)
    yield
    await client.close()
