"""What a failure while committing a batch means: retry it, stop, or dead-letter the event that caused it.

Infrastructure (MongoDB or the broker unreachable, a primary stepping down, a transaction conflict, the
environment refusing us) is retried with backoff and nothing is skipped. An event whose applying or
writing raises anything else can never be applied by this code: the processor isolates it and
dead-letters it with reason ``unapplicable``, so that everyone else's events go on.
"""

from __future__ import annotations

import enum
import re

from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    CursorNotFound,
    EncryptionError,
    ExecutionTimeout,
    InvalidOperation,
    OperationFailure,
    ProtocolError,
    WriteConcernError,
)

from service_kit.eventlog import EventLogUnavailable
from stream_processors.lease import LeaseLost

UNAPPLICABLE = "unapplicable"
RETRY_LABELS = ("TransientTransactionError", "UnknownTransactionCommitResult", "RetryableWriteError")
# Server error codes about the server or our access to it, never about one document's content.
INFRASTRUCTURE_CODES = frozenset(
    {
        6,
        7,
        13,
        18,
        24,
        46,
        50,
        64,
        89,
        91,
        112,
        133,
        189,
        251,
        262,
        9001,
        10107,
        11600,
        11601,
        11602,
        13435,
        13436,
        14031,
    }
)
_ENVIRONMENT_ERRORS = (
    ConnectionFailure,
    WriteConcernError,
    ExecutionTimeout,
    CursorNotFound,
    ConfigurationError,
    InvalidOperation,
    ProtocolError,
    EncryptionError,
    EventLogUnavailable,
    OSError,
    MemoryError,
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_BRACED = re.compile(r"\{[^{}]*\}")
MAX_DETAIL_LENGTH = 200


class Failure(enum.Enum):
    retry = "retry"  # infrastructure: the same batch again after a backoff
    stop = "stop"  # this instance must not write any more (another took the lease)
    unapplicable = "unapplicable"  # the events of the batch: isolate the one that fails


class BatchNotCommitted(Exception):
    """A batch failed, and so did a commit without its failing event: the cause is not an event."""


def classify(error: BaseException) -> Failure:
    if isinstance(error, LeaseLost):
        return Failure.stop
    if isinstance(error, (BatchNotCommitted, *_ENVIRONMENT_ERRORS)):
        return Failure.retry
    if isinstance(error, OperationFailure) and _server_side(error):
        return Failure.retry
    return Failure.unapplicable


def _server_side(error: OperationFailure) -> bool:
    if any(error.has_error_label(label) for label in RETRY_LABELS) or error.code in INFRASTRUCTURE_CODES:
        return True
    if isinstance(error, BulkWriteError):
        details = error.details or {}
        codes = {write_error.get("code") for write_error in details.get("writeErrors", [])}
        return bool(details.get("writeConcernErrors")) or bool(codes & INFRASTRUCTURE_CODES)
    return False


def describe_failure(error: BaseException) -> str:
    """Type, server code and first line of the message, quoted values and {…} documents removed: the
    message of a duplicate key names the key's values, which are a person's data."""
    code = getattr(error, "code", None)
    kind = type(error).__name__ + (f" (code {code})" if isinstance(code, int) else "")
    first_line = (str(error).splitlines() or [""])[0]
    text = _QUOTED.sub("…", first_line)
    while (shorter := _BRACED.sub("…", text)) != text:
        text = shorter
    text = text.split("{")[0]  # a document cut short has no closing brace
    return f"{kind}: {text}"[:MAX_DETAIL_LENGTH]
