"""``document.added`` v3 (pages) and ``document.page_added``: golden files, the v2 -> v3 upcaster, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.codec import InvalidEvent, decode_envelope_json
from contracts.events import MAX_ALBUM_PAGES, MAX_PAGES, DocumentAddedV3, DocumentPageAdded
from contracts.upcasting import single_page_v2_to_v3
from service_kit.crypto import PersonKeys
from tests.contracts.golden_files import GOLDEN_DATA_KEY, GOLDEN_KEY_ID, GOLDEN_OWNER_ID, golden_dict

GOLDEN_KEYS = PersonKeys(GOLDEN_OWNER_ID, GOLDEN_DATA_KEY, GOLDEN_KEY_ID)


def _decoded(raw: dict[str, Any]) -> Any:
    return decode_envelope_json(json.dumps(raw, ensure_ascii=False).encode())


def test_decode_envelope_json_reads_every_page_when_golden_v3_added() -> None:
    payload = _decoded(golden_dict("document.added", 3)).payload

    assert isinstance(payload, DocumentAddedV3) and len(payload.more_pages) == 2
    assert GOLDEN_KEYS.open("name", payload.name) == "Договор аренды, 3 страницы"
    names = [GOLDEN_KEYS.open("file_name", page.file_name or "") for page in payload.more_pages]
    assert names == ["IMG_20260314_093002.jpg", "IMG_20260314_093004.jpg"]


@pytest.mark.parametrize("version", [1, 2])
def test_decode_envelope_json_lifts_to_one_page_when_an_old_add_is_read(version: int) -> None:
    raw = golden_dict("document.added", version)

    payload = _decoded(raw).payload

    assert isinstance(payload, DocumentAddedV3) and payload.more_pages == []
    assert payload.file.object_key == raw["payload"]["file"]["object_key"]


def test_single_page_v2_to_v3_refuses_when_the_payload_already_has_pages() -> None:
    with pytest.raises(ValueError, match="more_pages"):
        single_page_v2_to_v3({"more_pages": []})


def test_decode_envelope_json_reads_the_page_when_golden_page_added() -> None:
    payload = _decoded(golden_dict("document.page_added", 1)).payload

    assert isinstance(payload, DocumentPageAdded) and len(payload.pages) == 1
    assert GOLDEN_KEYS.open("file_name", payload.pages[0].file_name or "") == "scan_page_4.pdf"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: p.update(pages=[]), id="no pages"),
        pytest.param(lambda p: p.update(pages=p["pages"] * (MAX_ALBUM_PAGES + 1)), id="more than an album"),
        pytest.param(lambda p: p["pages"][0].update(sha256="ab" * 32, content_id=None), id="plain hash"),
        pytest.param(lambda p: p["pages"][0].update(file_name="scan.pdf"), id="file name not sealed"),
        pytest.param(lambda p: p.update(pages="not a list"), id="not a list"),
        pytest.param(lambda p: p.update(extra=1), id="unknown field"),
    ],
)
def test_decode_envelope_json_refuses_page_added_when_pages_are_bad(change: Any) -> None:
    raw = golden_dict("document.page_added", 1)
    change(raw["payload"])

    with pytest.raises(InvalidEvent):
        _decoded(raw)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: p.update(more_pages=p["more_pages"] * MAX_PAGES), id="past MAX_PAGES"),
        pytest.param(lambda p: p["more_pages"][0].update(file_name="IMG.jpg"), id="page name not sealed"),
        pytest.param(lambda p: p["more_pages"][1].update(content_id=None), id="page without content id"),
    ],
)
def test_decode_envelope_json_refuses_v3_add_when_more_pages_are_bad(change: Any) -> None:
    raw = golden_dict("document.added", 3)
    change(raw["payload"])

    with pytest.raises(InvalidEvent):
        _decoded(raw)


def test_document_added_v3_refuses_more_pages_when_upcast_from_plain_text() -> None:
    payload = golden_dict("document.added", 3)["payload"]
    v1 = golden_dict("document.added", 1)["payload"]

    with pytest.raises(ValueError, match="one page"):
        DocumentAddedV3.model_validate({**v1, "plaintext": True, "more_pages": payload["more_pages"]})
