"""Read-model indexes as MongoDB receives them."""

from __future__ import annotations

import bson

from contracts.read_models import DocumentView


def test_document_view_partial_indexes_filter_on_the_plain_live_string_when_sent_to_the_server() -> None:
    filters = [
        index.document["partialFilterExpression"]
        for index in DocumentView.Settings.indexes
        if "partialFilterExpression" in index.document
    ]

    assert len(filters) == 2
    assert all(bson.encode(f) == bson.encode({"status": "live"}) for f in filters)
