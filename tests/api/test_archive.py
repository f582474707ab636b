"""The archive's pure rules: safe and unique paths for hostile names, the indexes, CSV injection."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.files.archive import (
    INDEX_CSV,
    INDEX_FIELDS,
    INDEX_JSON,
    MAX_COMPONENT_LENGTH,
    ExportedDocument,
    ExportedPage,
    archive_paths,
    archive_size_bound,
    extension_for,
    index_csv,
    index_json,
    index_rows,
    safe_component,
    spreadsheet_safe,
)

WHEN = datetime(2026, 3, 14, 9, 26, tzinfo=UTC)


def _document(
    name: str, title: str = "Passport", file_name: str | None = "scan.pdf", pages: int = 1
) -> ExportedDocument:
    first = ExportedPage(10, "application/pdf", file_name)
    return ExportedDocument("d", title, name, WHEN, (first, *[ExportedPage(20, "image/jpeg", None)] * (pages - 1)))


def _flat(paths: list[tuple[str, ...]]) -> list[str]:
    return [path for pages in paths for path in pages]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..", "document"),
        ("   ", "document"),
        ("a\x00b\r\nc", "a b c"),
        ("CON", "_CON"),
        ("lpt1.txt", "_lpt1.txt"),
        ('what<>:"|?*', "what_______"),
        ("trailing. . ", "trailing"),
        ("Паспорт РФ", "Паспорт РФ"),
        ("x" * 300, "x" * MAX_COMPONENT_LENGTH),
    ],
)
def test_safe_component_gives_a_name_every_file_system_takes_when_the_name_is_hostile(raw: str, expected: str) -> None:
    assert safe_component(raw, "document") == expected


@given(st.text(max_size=200))
def test_safe_component_never_leaves_a_separator_or_a_parent_when_given_any_text(raw: str) -> None:
    component = safe_component(raw, "document")

    assert component and "/" not in component and "\\" not in component and not component.startswith(".")
    assert all(ord(ch) >= 32 for ch in component) and len(component) <= MAX_COMPONENT_LENGTH


def test_archive_paths_number_the_later_of_two_names_when_they_clash_once_cleaned_or_by_case() -> None:
    documents = [_document("Lease 1/2"), _document("lease 1_2"), _document("LEASE 1:2"), _document("index", "x")]

    assert archive_paths(documents) == [
        ("Passport/Lease 1_2.pdf",),
        ("Passport/lease 1_2 (2).pdf",),
        ("Passport/LEASE 1_2 (3).pdf",),
        ("x/index.pdf",),
    ]


def test_archive_paths_give_a_document_a_folder_of_numbered_pages_when_it_has_several_pages() -> None:
    documents = [_document("Lease", pages=3), _document("Lease"), _document("Lease", file_name=None, pages=2)]

    assert archive_paths(documents) == [
        ("Passport/Lease/page 01.pdf", "Passport/Lease/page 02.jpg", "Passport/Lease/page 03.jpg"),
        ("Passport/Lease.pdf",),
        ("Passport/Lease (2)/page 01.pdf", "Passport/Lease (2)/page 02.jpg"),
    ]


def test_archive_paths_never_name_a_file_as_a_folder_when_a_name_has_no_extension_or_is_an_index() -> None:
    plain = ExportedDocument("d", "Passport", "lease", WHEN, (ExportedPage(10, "application/x-unknown", None),))
    documents = [plain, _document("LEASE", pages=2), _document("x", "index.json"), _document("y", "INDEX.CSV")]

    assert archive_paths(documents) == [
        ("Passport/lease",),
        ("Passport/LEASE (2)/page 01.pdf", "Passport/LEASE (2)/page 02.jpg"),
        ("_index.json/x.pdf",),
        ("_INDEX.CSV/y.pdf",),
    ]


@given(st.lists(st.tuples(st.text(max_size=40), st.text(max_size=20), st.integers(1, 3)), max_size=30))
def test_archive_paths_are_unique_whatever_the_case_when_names_are_arbitrary(
    documents: list[tuple[str, str, int]],
) -> None:
    paths = _flat(archive_paths([_document(name, title, None, pages) for name, title, pages in documents]))
    folded = [path.casefold() for path in [*paths, "index.json", "index.csv"]]

    assert len(set(folded)) == len(folded)
    assert not any(other.startswith(path + "/") for path in folded for other in folded)  # no file is a folder
    assert all(path.count("/") in (1, 2) and ".." not in path.split("/") for path in paths)


@pytest.mark.parametrize(
    ("file_name", "media_type", "expected"),
    [
        ("scan.PDF", "application/pdf", ".pdf"),
        (None, "image/jpeg", ".jpg"),
        ("archive", "application/octet-stream", ".bin"),
        ("evil.p df", "text/plain", ".txt"),
        (None, "application/x-unknown-thing", ""),
    ],
)
def test_extension_for_takes_the_file_name_or_else_the_media_type_when_plain(
    file_name: str | None, media_type: str, expected: str
) -> None:
    assert extension_for(file_name, media_type) == expected


@pytest.mark.parametrize("value", ["=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "\t=1"])
def test_spreadsheet_safe_neutralises_the_cell_when_it_would_start_a_formula(value: str) -> None:
    assert spreadsheet_safe(value) == "'" + value


def test_indexes_list_every_document_and_neutralise_formulas_when_a_file_is_missing() -> None:
    documents = [_document("=cmd|' /C calc'!A0"), _document("Договор, «аренда»", file_name=None)]
    rows = index_rows(documents, [("Passport/x.pdf",), (None,)])

    listed = json.loads(index_json(rows))["documents"]
    table = list(csv.reader(io.StringIO(index_csv(rows).decode("utf-8-sig"))))

    assert [row["name"] for row in listed] == ["=cmd|' /C calc'!A0", "Договор, «аренда»"]
    assert listed[1]["files"][0]["file"] is None and listed[0]["date"] == "2026-03-14T09:26:00+00:00"
    assert table[0] == list(INDEX_FIELDS)
    assert table[1][1] == "'=cmd|' /C calc'!A0" and table[2][1] == "Договор, «аренда»" and table[2][8] == ""


def test_indexes_list_every_page_in_order_when_a_document_has_several_pages_and_one_is_missing() -> None:
    rows = index_rows(
        [_document("Lease", pages=3)], [("Passport/Lease/page 01.pdf", None, "Passport/Lease/page 03.jpg")]
    )

    [listed] = json.loads(index_json(rows))["documents"]
    table = list(csv.DictReader(io.StringIO(index_csv(rows).decode("utf-8-sig"))))

    assert (listed["name"], listed["pages"], listed["size"]) == ("Lease", 3, 50)
    assert listed["files"] == [
        {
            "page": 1,
            "size": 10,
            "media_type": "application/pdf",
            "original_file_name": "scan.pdf",
            "file": "Passport/Lease/page 01.pdf",
        },
        {"page": 2, "size": 20, "media_type": "image/jpeg", "original_file_name": None, "file": None},
        {
            "page": 3,
            "size": 20,
            "media_type": "image/jpeg",
            "original_file_name": None,
            "file": "Passport/Lease/page 03.jpg",
        },
    ]
    assert [(r["name"], r["page"], r["pages"], r["size"], r["file"]) for r in table] == [
        ("Lease", "1", "3", "10", "Passport/Lease/page 01.pdf"),
        ("Lease", "2", "3", "20", ""),
        ("Lease", "3", "3", "20", "Passport/Lease/page 03.jpg"),
    ]


class _Unseekable(io.RawIOBase):
    """Where the export's zipfile writes: no seek or tell, so it streams with data descriptors as the API's does."""

    def __init__(self) -> None:
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.written += len(data)
        return len(data)


def _streamed_zip_size(documents: list[ExportedDocument]) -> int:
    sink = _Unseekable()
    paths = archive_paths(documents)
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for document, pages in zip(documents, paths, strict=True):
            for page, path in zip(document.pages, pages, strict=True):
                info = zipfile.ZipInfo(path, date_time=WHEN.timetuple()[:6])
                info.file_size = page.size
                with archive.open(info, "w") as entry:
                    entry.write(b"x" * page.size)
        rows = index_rows(documents, paths)
        archive.writestr(INDEX_JSON, index_json(rows))
        archive.writestr(INDEX_CSV, index_csv(rows))
    return sink.written


@given(
    st.lists(
        st.tuples(st.text(max_size=120), st.text(max_size=60), st.lists(st.integers(0, 3000), min_size=1, max_size=30)),
        min_size=1,
        max_size=6,
    )
)
def test_archive_size_bound_holds_the_streamed_zip_when_documents_have_any_names_and_pages(
    documents: list[tuple[str, str, list[int]]],
) -> None:
    exported = [
        ExportedDocument("d", title, name, WHEN, tuple(ExportedPage(size, "image/jpeg", "p.jpg") for size in sizes))
        for name, title, sizes in documents
    ]

    assert _streamed_zip_size(exported) <= archive_size_bound(exported)
