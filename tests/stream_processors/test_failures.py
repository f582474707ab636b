"""Which failures of a batch are retried, which stop the processor, which make an event unapplicable."""

from __future__ import annotations

import pytest
from bson.errors import InvalidDocument
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    ServerSelectionTimeoutError,
    WriteError,
    WTimeoutError,
)

from service_kit.eventlog import EventLogUnavailable
from stream_processors.failures import BatchNotCommitted, Failure, classify, describe_failure
from stream_processors.lease import LeaseLost


def _labelled(label: str) -> OperationFailure:
    return OperationFailure("Transaction aborted", code=251, details={"errorLabels": [label], "code": 251})


@pytest.mark.parametrize(
    "error",
    [
        ConnectionFailure("connection closed"),
        AutoReconnect("reconnect"),
        NetworkTimeout("timed out"),
        ServerSelectionTimeoutError("no server"),
        NotPrimaryError("not primary"),
        OperationFailure("WriteConflict", code=112),
        _labelled("TransientTransactionError"),
        OperationFailure("commit result unknown", code=50, details={"errorLabels": ["UnknownTransactionCommitResult"]}),
        OperationFailure("not authorized on docvault_v1 to execute command", code=13),
        OperationFailure("not primary", code=10107),
        ExecutionTimeout("operation exceeded time limit", code=50),
        WTimeoutError("waiting for replication timed out", code=64),
        BulkWriteError({"writeErrors": [], "writeConcernErrors": [{"code": 64, "errmsg": "timeout"}]}),
        BulkWriteError({"writeErrors": [{"index": 0, "code": 112, "errmsg": "write conflict"}]}),
        EventLogUnavailable("append to docvault.events.dlq failed"),
        TimeoutError(),
        OSError("reset"),
        BatchNotCommitted("a commit of no event failed"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_classify_retries_when_infrastructure_failed(error: Exception) -> None:
    assert classify(error) is Failure.retry


@pytest.mark.parametrize(
    "error",
    [
        DuplicateKeyError("E11000 duplicate key error", code=11000),
        BulkWriteError({"writeErrors": [{"index": 3, "code": 11000, "errmsg": "E11000 duplicate key"}]}),
        WriteError("Document failed validation", code=121),
        OverflowError("MongoDB can only handle up to 8-byte ints"),
        InvalidDocument("cannot encode object"),
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
        ValueError("more than 1000 copies of one name"),
        KeyError("1:passport"),
        AssertionError(),
        OperationFailure("unknown operator: $bad", code=2),
    ],
    ids=lambda error: type(error).__name__,
)
def test_classify_calls_event_unapplicable_when_applying_or_writing_it_failed(error: Exception) -> None:
    assert classify(error) is Failure.unapplicable


def test_classify_stops_when_the_lease_was_lost() -> None:
    assert classify(LeaseLost("read-models@v1 is now held by another instance")) is Failure.stop


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            OverflowError("MongoDB can only handle up to 8-byte ints"),
            "OverflowError: MongoDB can only handle up to 8-byte ints",
        ),
        (KeyError("Паспорт"), "KeyError: …"),
        (
            InvalidDocument("cannot encode object: Decimal('1.5'), of type: <class 'decimal.Decimal'>"),
            "InvalidDocument: cannot encode object: Decimal(…), of type: <class …>",
        ),
        (
            DuplicateKeyError(
                'E11000 dup key: { name_key: "мой полис", owner_id: 7 }, full error: {"a": {"b": 1}}', code=11000
            ),
            "DuplicateKeyError (code 11000): E11000 dup key: …, full error: …",
        ),
        (ValueError("first line\nsecond line with Алиса"), "ValueError: first line"),
        (ValueError("cut short: { owner_id: 7, name: Алиса"), "ValueError: cut short: "),
    ],
    ids=["library-message", "quoted-key", "quoted-repr", "dup-key-document", "two-lines", "unclosed-document"],
)
def test_describe_failure_keeps_type_and_message_without_values_when_described(error: Exception, expected: str) -> None:
    assert describe_failure(error) == expected


def test_describe_failure_stays_short_when_message_long() -> None:
    assert len(describe_failure(ValueError("x" * 5000))) == 200
