"""Shared fixtures. Integration fixtures talk to the real services started by scripts/test-services.sh."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from service_kit.settings import MongoSettings, RabbitSettings, S3Settings
from tests.keyrings import use_test_keyring
from tests.mongo_cleanup import drop_databases
from tests.s3_cleanup import remove_bucket
from tests.streams import fresh_streams

use_test_keyring()


@pytest.fixture
def unique_name() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def rabbit_settings(unique_name: str) -> AsyncIterator[RabbitSettings]:
    """Settings pointing at a pair of fresh streams of this test only; deleted afterwards."""
    async with fresh_streams(unique_name) as settings:
        yield settings


@pytest.fixture
async def mongo_settings(unique_name: str) -> AsyncIterator[MongoSettings]:
    """Settings with a database prefix of this test only; its databases are dropped afterwards."""
    settings = MongoSettings(database=unique_name)
    yield settings
    await drop_databases(settings)


@pytest.fixture
def s3_settings(unique_name: str) -> Iterator[S3Settings]:
    """A bucket of this test only on the moto server (created by the code under test); removed afterwards."""
    settings = S3Settings(bucket=f"t-{unique_name}")
    yield settings
    remove_bucket(settings)
