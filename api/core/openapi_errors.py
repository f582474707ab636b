"""OpenAPI descriptions of the error answers shared by the routers."""

from __future__ import annotations

from typing import Any

from contracts.api_schemas import ErrorBody

_ERROR_MEANINGS = {
    401: "Missing or wrong service token.",
    403: "quota_exceeded: a new document would pass the person's storage limits; usage says where they stand.",
    404: "No such thing for this owner (another owner's is also a 404).",
    409: "after_event is not applied yet: retry after Retry-After seconds.",
    413: "The body is larger than MAX_UPLOAD_BYTES.",
    422: "Malformed path, query, header or cursor.",
    503: "MongoDB or S3 is unavailable: retry after Retry-After seconds.",
}


def described_error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: described_error(_ERROR_MEANINGS[status]) for status in statuses}


OWNER_READ_ERRORS = error_responses(401, 404, 409, 422, 503)
