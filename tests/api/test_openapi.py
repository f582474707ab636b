"""The OpenAPI document speaks the shared vocabulary: statuses as an enum, slugs by the one pattern."""

from __future__ import annotations

from typing import Any

from api.app import create_app
from api.settings import ApiSettings
from contracts.vocabulary import SLUG_PATTERN, DocumentStatus
from service_kit.settings import MongoSettings, S3Settings
from tests.keyrings import TEST_MASTER_KEYS


def _openapi() -> dict[str, Any]:
    settings = ApiSettings(
        api_service_token="t" * 16, master_keys=TEST_MASTER_KEYS, mongo=MongoSettings(), s3=S3Settings()
    )
    document: dict[str, Any] = create_app(settings).openapi()
    return document


def test_openapi_lists_every_document_status_when_describing_a_document() -> None:
    schemas = _openapi()["components"]["schemas"]
    status = schemas["DocumentDetail"]["properties"]["status"]

    assert schemas[status["$ref"].rsplit("/", 1)[-1]]["enum"] == [status.value for status in DocumentStatus]


def test_openapi_gives_every_slug_parameter_the_shared_pattern_when_rendered() -> None:
    parameters = [
        parameter
        for path in _openapi()["paths"].values()
        for operation in path.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"] in ("slug", "type_slug")
    ]

    assert len(parameters) == 2
    assert all(parameter["schema"]["pattern"] == SLUG_PATTERN for parameter in parameters)
