"""Every error the API answers is an ``ErrorBody``: a stable ``code`` for programs, a ``message`` for people."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from contracts.api_schemas import ErrorBody, StorageUsage
from service_kit.s3 import StorageUnavailable

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
_MAX_LISTED_PROBLEMS = 3
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class ApiError(Exception):
    """An answer other than success, raised anywhere below a route and rendered by ``api_error``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        usage: StorageUsage | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.usage = usage


def not_found(what: str) -> ApiError:
    """The same answer whether the thing does not exist or belongs to another owner."""
    return ApiError(404, f"{what}_not_found", f"no such {what.replace('_', ' ')}")


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, usage: StorageUsage | None = None
) -> JSONResponse:
    body = ErrorBody(code=code, message=message, usage=usage)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def describe_problems(errors: Sequence[Any]) -> str:
    """``query.limit: Input should be ...; path.document_id: ...`` without echoing the input."""
    # A parameter shared by a route and its dependencies is reported once per declaration: fold repeats.
    problems = list(
        dict.fromkeys(
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"[:200]
            for error in errors
        )
    )
    more = len(problems) - _MAX_LISTED_PROBLEMS
    return "; ".join(problems[:_MAX_LISTED_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")


async def api_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error_response(error.status, error.code, error.message, error.headers, error.usage)


async def invalid_request(_: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    return error_response(422, "invalid_request", describe_problems(error.errors()))


async def http_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    code = _STATUS_CODES.get(error.status_code, "http_error")
    return error_response(error.status_code, code, str(error.detail), error.headers)


async def mongo_unavailable(_: Request, error: Exception) -> Response:
    log.warning("MongoDB unavailable", extra={"error": type(error).__name__})
    return error_response(
        503,
        "mongo_unavailable",
        "the document database is unavailable, try again shortly",
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def s3_unavailable(_: Request, error: Exception) -> Response:
    log.warning("S3 unavailable", extra={"error": str(error)})
    return error_response(
        503,
        "s3_unavailable",
        "the file storage is unavailable, try again shortly",
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def client_disconnected(_: Request, __: Exception) -> Response:
    # Nobody reads this answer; it only ends the request cleanly instead of as a 500.
    log.info("client disconnected before the request body was complete")
    return error_response(400, "client_disconnected", "the request body ended early")


Handler = Callable[[Request, Exception], Awaitable[Response]]
HANDLERS: dict[type[Exception], Handler] = {
    ApiError: api_error,
    RequestValidationError: invalid_request,
    StarletteHTTPException: http_error,
    ConnectionFailure: mongo_unavailable,
    StorageUnavailable: s3_unavailable,
    ClientDisconnect: client_disconnected,
}


def install_error_handlers(app: FastAPI) -> None:
    for exception_type, handler in HANDLERS.items():
        app.add_exception_handler(exception_type, handler)
