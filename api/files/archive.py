"""Pure rules of a person's export archive: where each page of each document goes in the zip, the index, the size
bound.

The archive holds one folder per type (its title). A document of one page is a file in it (``<type>/<name>.<ext>``);
a document of several pages is a folder of its own with a file per page, numbered in order so that every file
manager lists them so (``<type>/<name>/page 01.<ext>``, ``page 02.<ext>``...; a document has at most 30 pages), each
page with its own extension. At the archive's root, an index of every live document (``index.json``: one object per
document with its pages in ``files``; ``index.csv``: one line per page; ``INDEX_FIELDS``): type, name, date, page,
pages, size, media type, original file name and the file's path in the archive, empty when it could not be read.
Every path is made of cleaned components (no separators, no ``..``, no control characters, none of the characters
or names Windows refuses) and is unique in the archive whatever the case, a file never named as a folder, so
unpacking it anywhere writes only inside the target folder and never over another document. Entries are stored,
not deflated (documents are PDFs and photos, compressed already), which makes the archive's size known before it
is built: ``archive_size_bound``.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import mimetypes
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

INDEX_JSON = "index.json"
INDEX_CSV = "index.csv"
INDEX_FIELDS = ("type", "name", "date", "page", "pages", "size", "media_type", "original_file_name", "file")
PAGE_FIELDS = ("page", "size", "media_type", "original_file_name", "file")  # of each of ``files`` in index.json
MAX_COMPONENT_LENGTH = 100  # characters of a folder or file stem; the extension comes on top
MAX_EXTENSION_LENGTH = 16
_UNSAFE = re.compile(r'[<>:"/\\|?*]')
_SPACES = re.compile(r"\s+")
_EXTENSION = re.compile(r"^\.[A-Za-z0-9]{1,15}$")
_WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(1, 10)), *(f"lpt{n}" for n in range(1, 10))}
)
# What the zip format adds per entry at most (local header 30 + zip64 extra 20, data descriptor 24, central header
# 46 + zip64 extra 28), besides the entry's name twice, and at the end (end records 22 + 56 + 20).
ENTRY_OVERHEAD_BYTES = 30 + 20 + 24 + 46 + 28
END_OVERHEAD_BYTES = 22 + 56 + 20
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportedPage:
    """One page's file as the archive lists it, its original file name opened."""

    size: int
    media_type: str
    original_file_name: str | None


@dataclass(frozen=True)
class ExportedDocument:
    """One live document as the archive lists it, its texts opened; ``pages`` in order, the first first."""

    document_id: str
    type_title: str
    name: str
    created_at: datetime
    pages: tuple[ExportedPage, ...]

    @property
    def size(self) -> int:
        return sum(page.size for page in self.pages)


@dataclass(frozen=True)
class IndexRow:
    document: ExportedDocument
    paths: tuple[str | None, ...]  # where each page's file is in the archive; None when it could not be read


def safe_component(raw: str, fallback: str) -> str:
    """One path component that every file system takes: visible characters only, no separators or characters
    Windows refuses, no leading dots, no trailing dots or spaces, no device name, at most
    ``MAX_COMPONENT_LENGTH`` characters; ``fallback`` when nothing is left."""
    visible = "".join(
        " " if unicodedata.category(ch).startswith("C") else ch for ch in unicodedata.normalize("NFC", raw)
    )
    text = _SPACES.sub(" ", _UNSAFE.sub("_", visible)).strip().lstrip(".")
    text = text[:MAX_COMPONENT_LENGTH].rstrip(". ")
    if not text:
        return fallback
    if text.split(".", 1)[0].casefold().rstrip() in _WINDOWS_DEVICES:
        return f"_{text}"
    return text


def extension_for(original_file_name: str | None, media_type: str) -> str:
    """The original file's extension when it has a plain one, else the usual one of its media type ("" if none)."""
    if original_file_name:
        suffix = PurePosixPath(original_file_name.replace("\\", "/")).suffix
        if _EXTENSION.match(suffix):
            return suffix.lower()
    guessed = mimetypes.guess_extension(media_type, strict=False) or ""
    return guessed if _EXTENSION.match(guessed) else ""


def _numbered(stem: str, extension: str, number: int) -> str:
    return f"{stem}{extension}" if number < 2 else f"{stem} ({number}){extension}"


def type_folder(title: str) -> str:
    """The folder of a type: its cleaned title, never one of the index files' names."""
    folder = safe_component(title, "documents")
    return f"_{folder}" if folder.casefold() in (INDEX_JSON, INDEX_CSV) else folder


def page_file(page: ExportedPage, number: int) -> str:
    """A page's file in its document's folder: "page 01.pdf" (two digits: at most 30 pages sort right)."""
    return f"page {number:02d}{extension_for(page.original_file_name, page.media_type)}"


@dataclass
class _Taken:
    """The paths given so far, case-folded (as Windows and macOS compare them): files and folders alike, so a
    file is never named as a folder or the other way round."""

    paths: set[str] = field(default_factory=lambda: {INDEX_JSON, INDEX_CSV})

    def first_free(self, candidates: Iterator[str]) -> str:
        path = next(candidate for candidate in candidates if candidate.casefold() not in self.paths)
        self.paths.add(path.casefold())
        return path


def _document_paths(document: ExportedDocument, taken: _Taken) -> tuple[str, ...]:
    folder = type_folder(document.type_title)
    taken.paths.add(folder.casefold())
    stem = safe_component(document.name, "document")
    numbers = itertools.count(1)
    if len(document.pages) == 1:
        extension = extension_for(document.pages[0].original_file_name, document.pages[0].media_type)
        return (taken.first_free(f"{folder}/{_numbered(stem, extension, n)}" for n in numbers),)
    own = taken.first_free(f"{folder}/{_numbered(stem, '', n)}" for n in numbers)
    return tuple(f"{own}/{page_file(page, number)}" for number, page in enumerate(document.pages, 1))


def archive_paths(documents: Sequence[ExportedDocument]) -> list[tuple[str, ...]]:
    """Each document's pages' paths in the archive, in order: ``<type>/<name><ext>`` for one page, else
    ``<type>/<name>/page 01<ext>``...; a later one of a name already taken (compared case-folded) numbered
    "name (2).pdf", "name (3)/page 01.jpg"..."""
    taken = _Taken()
    return [_document_paths(document, taken) for document in documents]


Values = dict[str, str | int | None]


def _page_values(number: int, page: ExportedPage, path: str | None) -> Values:
    return {
        "page": number,
        "size": page.size,
        "media_type": page.media_type,
        "original_file_name": page.original_file_name,
        "file": path,
    }


def _pages_values(row: IndexRow) -> list[Values]:
    return [
        _page_values(number, page, path)
        for number, (page, path) in enumerate(zip(row.document.pages, row.paths, strict=True), 1)
    ]


def _document_values(row: IndexRow) -> Values:
    document = row.document
    return {
        "type": document.type_title,
        "name": document.name,
        "date": document.created_at.isoformat(),
        "pages": len(document.pages),
        "size": document.size,
    }


def index_json(rows: Sequence[IndexRow]) -> bytes:
    """The index as JSON: ``{"documents": [...]}``, one object per document (type, name, date, pages, size: of every
    page) with its pages in ``files`` (``PAGE_FIELDS``: number, size, media type, original file name, path)."""
    body = {"documents": [_document_values(row) | {"files": _pages_values(row)} for row in rows]}
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def spreadsheet_safe(value: str) -> str:
    """A text a spreadsheet shows as text: one that would start a formula gets a leading apostrophe."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _cell(value: str | int | None) -> str | int:
    return spreadsheet_safe(value) if isinstance(value, str) else ("" if value is None else value)


def index_csv(rows: Sequence[IndexRow]) -> bytes:
    """The index as CSV, one line per page (``INDEX_FIELDS``; the size is the page's), in UTF-8 with a byte-order
    mark, so spreadsheets read the names right, a header line first; texts a spreadsheet would run as formulas are
    neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INDEX_FIELDS)
    for row in rows:
        for page in _pages_values(row):
            values = _document_values(row) | page
            writer.writerow(_cell(values[name]) for name in INDEX_FIELDS)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def index_rows(documents: Sequence[ExportedDocument], paths: Sequence[tuple[str | None, ...]]) -> list[IndexRow]:
    return [IndexRow(document, tuple(pages)) for document, pages in zip(documents, paths, strict=True)]


def entry_bound(path: str, size: int) -> int:
    """The most bytes one stored entry of ``size`` bytes takes in the archive."""
    return size + 2 * len(path.encode("utf-8")) + ENTRY_OVERHEAD_BYTES


def archive_size_bound(documents: Sequence[ExportedDocument]) -> int:
    """The most bytes the archive of ``documents`` takes: every page's file, every path, both indexes as if every
    file were in it, the zip records. The bot compares it with what Telegram lets it send."""
    paths = archive_paths(documents)
    rows = index_rows(documents, paths)
    files = sum(
        entry_bound(path, page.size)
        for document, pages in zip(documents, paths, strict=True)
        for page, path in zip(document.pages, pages, strict=True)
    )
    indexes = entry_bound(INDEX_JSON, len(index_json(rows))) + entry_bound(INDEX_CSV, len(index_csv(rows)))
    return files + indexes + END_OVERHEAD_BYTES
