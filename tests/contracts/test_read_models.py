"""Read-model indexes as MongoDB receives them."""

from __future__ import annotations

import bson

from contracts.read_models import DocumentView


def test_document_view_partial_indexes_filter_on_plain_status_strings_when_sent_to_the_server() -> None:
    filters = {
        index.document["name"]: bson.encode(index.document["partialFilterExpression"])
        for index in DocumentView.Settings.indexes
        if "partialFilterExpression" in index.document
    }

    assert filters == {
        "unique_live_name_per_type": bson.encode({"status": "live"}),
        "unique_live_content_key_per_owner": bson.encode({"status": "live"}),
        "trash_by_deadline": bson.encode({"status": "deleted"}),
    }
