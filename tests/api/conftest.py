"""Fixtures of the API tests: real SecantusDB and moto S3 over sockets, read models made by the real processor."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from minio import Minio

from api.settings import ApiSettings
from service_kit.s3 import s3_client
from service_kit.settings import MongoSettings, S3Settings
from tests.api.support import AUTH, Projector, api_settings_for, running_api


@pytest.fixture
def raw_s3(s3_settings: S3Settings) -> Minio:
    """A plain S3 client to look at what the API stored."""
    return s3_client(s3_settings)


@pytest.fixture
def api_settings(mongo_settings: MongoSettings, s3_settings: S3Settings) -> ApiSettings:
    return api_settings_for(mongo_settings, s3_settings)


@pytest.fixture
async def api(api_settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_api(api_settings, AUTH) as client:
        yield client


@pytest.fixture
def projector(mongo_settings: MongoSettings) -> Projector:
    return Projector(mongo_settings)
