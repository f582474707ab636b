"""The pure storage-limit rules: when one more document fits, and what a refusal says."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.documents.queries import LiveTotals
from api.files.quota import QuotaExceeded, StorageLimits, admits_new_document, usage_of
from contracts.api_schemas import StorageUsage

LIMITS = StorageLimits(documents=3, bytes=100)


@pytest.mark.parametrize(
    ("documents", "stored", "size", "admitted"),
    [
        (0, 0, 100, True),  # the whole limit in one file
        (0, 0, 101, False),
        (2, 60, 40, True),  # the last document and the last byte
        (2, 60, 41, False),
        (3, 0, 1, False),  # the documents limit, with bytes to spare
        (4, 120, 1, False),  # already over (the race): nothing more
    ],
)
def test_admits_new_document_allows_exactly_up_to_both_limits_when_given_usage_and_size(
    documents: int, stored: int, size: int, admitted: bool
) -> None:
    usage = usage_of(LiveTotals(documents, stored), LIMITS)

    assert admits_new_document(usage, size) is admitted


@given(documents=st.integers(0, 10), stored=st.integers(0, 200), size=st.integers(1, 200))
def test_admits_new_document_never_lets_a_person_past_a_limit_when_given_any_usage(
    documents: int, stored: int, size: int
) -> None:
    usage = usage_of(LiveTotals(documents, stored), LIMITS)

    if admits_new_document(usage, size):
        assert documents + 1 <= LIMITS.documents and stored + size <= LIMITS.bytes


def test_quota_exceeded_carries_the_usage_and_says_it_in_numbers_when_raised() -> None:
    usage = StorageUsage(documents=3, documents_limit=3, bytes=42, bytes_limit=100)

    error = QuotaExceeded(usage, 7)

    assert error.usage == usage
    assert str(error) == (
        "a new document of 7 bytes would pass the storage limits: 3 of 3 documents and 42 of 100 bytes are used"
    )
