"""Read-model indexes as MongoDB receives them."""

from __future__ import annotations

import bson

from contracts.read_models import DocumentView, object_keys_of


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


def test_object_keys_of_names_every_page_when_document_has_more_pages() -> None:
    one = {"file": {"object_key": "owners/1/a"}}
    album = {"file": {"object_key": "owners/1/a"}, "more_pages": [{"object_key": "owners/1/b"}, {"object_key": "c"}]}

    assert (object_keys_of(one), object_keys_of(album)) == (["owners/1/a"], ["owners/1/a", "owners/1/b", "c"])
