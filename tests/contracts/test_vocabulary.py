"""The words the services share: document statuses and the slug pattern."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from contracts.api_schemas import DocumentDetail
from contracts.events import Slug
from contracts.text import type_slug
from contracts.vocabulary import SLUG_PATTERN, DocumentStatus


def test_document_status_values_are_the_stored_strings_when_listed() -> None:
    assert [status.value for status in DocumentStatus] == ["live", "deleted", "duplicate"]
    assert all(status == status.value and str(status) == status.value for status in DocumentStatus)


def test_event_slug_uses_the_shared_slug_pattern_when_validated() -> None:
    assert TypeAdapter(Slug).json_schema()["pattern"] == SLUG_PATTERN


@given(st.text(max_size=80))
def test_slug_pattern_matches_every_slug_type_slug_makes_when_given_any_title(title: str) -> None:
    assert re.fullmatch(SLUG_PATTERN, type_slug(title))


def test_document_detail_schema_lists_every_status_when_rendered_as_json_schema() -> None:
    schema = DocumentDetail.model_json_schema()
    status = schema["properties"]["status"]
    assert schema["$defs"][status["$ref"].rsplit("/", 1)[-1]]["enum"] == ["live", "deleted", "duplicate"]
