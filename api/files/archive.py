"""Pure rules of a person's export archive: where each document goes in the zip, the index, the size bound.

The archive holds one folder per type (its title) with the documents in it (``<type>/<name>.<ext>``), and an index
of every live document at its root (``index.json`` and ``index.csv``: type, name, date, size, media type, original
file name and the file's path in the archive, empty when the file could not be read). Every path is made of cleaned
components (no separators, no ``..``, no control characters, none of the characters or names Windows refuses) and is
unique in the archive whatever the case, so unpacking it anywhere writes only inside the target folder and never
over another document. Entries are stored, not deflated (documents are PDFs and photos, compressed already), which
makes the archive's size known before it is built: ``archive_size_bound``.
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

INDEX_JSON = "index.json"
INDEX_CSV = "index.csv"
INDEX_FIELDS = ("type", "name", "date", "size", "media_type", "original_file_name", "file")
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
class ExportedDocument:
    """One live document as the archive lists it, its texts opened."""

    document_id: str
    type_title: str
    name: str
    created_at: datetime
    size: int
    media_type: str
    original_file_name: str | None


@dataclass(frozen=True)
class IndexRow:
    document: ExportedDocument
    path: str | None  # where the file is in the archive; None when it could not be read


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


def archive_paths(documents: Sequence[ExportedDocument]) -> list[str]:
    """Each document's path in the archive, in order: ``<type>/<name><ext>``, a later one of a name already taken
    (compared case-folded, as Windows and macOS do) numbered "name (2).pdf", "name (3).pdf"..."""
    taken: set[str] = {INDEX_JSON, INDEX_CSV}
    paths = []
    for document in documents:
        folder = safe_component(document.type_title, "documents")
        stem = safe_component(document.name, "document")
        extension = extension_for(document.original_file_name, document.media_type)
        number = 1
        while (path := f"{folder}/{_numbered(stem, extension, number)}").casefold() in taken:
            number += 1
        taken.add(path.casefold())
        paths.append(path)
    return paths


def _row_values(row: IndexRow) -> dict[str, str | int | None]:
    document = row.document
    return {
        "type": document.type_title,
        "name": document.name,
        "date": document.created_at.isoformat(),
        "size": document.size,
        "media_type": document.media_type,
        "original_file_name": document.original_file_name,
        "file": row.path,
    }


def index_json(rows: Sequence[IndexRow]) -> bytes:
    """The index as JSON: ``{"documents": [...]}``, one object per document with ``INDEX_FIELDS``."""
    body = {"documents": [_row_values(row) for row in rows]}
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def spreadsheet_safe(value: str) -> str:
    """A text a spreadsheet shows as text: one that would start a formula gets a leading apostrophe."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def index_csv(rows: Sequence[IndexRow]) -> bytes:
    """The index as CSV (UTF-8 with a byte-order mark, so spreadsheets read the names right), a header line first;
    texts a spreadsheet would run as formulas are neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INDEX_FIELDS)
    for row in rows:
        values = _row_values(row)
        writer.writerow(
            spreadsheet_safe(value) if isinstance(value, str) else ("" if value is None else value)
            for value in values.values()
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def index_rows(documents: Sequence[ExportedDocument], paths: Sequence[str | None]) -> list[IndexRow]:
    return [IndexRow(document, path) for document, path in zip(documents, paths, strict=True)]


def entry_bound(path: str, size: int) -> int:
    """The most bytes one stored entry of ``size`` bytes takes in the archive."""
    return size + 2 * len(path.encode("utf-8")) + ENTRY_OVERHEAD_BYTES


def archive_size_bound(documents: Sequence[ExportedDocument]) -> int:
    """The most bytes the archive of ``documents`` takes: every file, every path, both indexes as if every file
    were in it, the zip records. The bot compares it with what Telegram lets it send."""
    paths = archive_paths(documents)
    rows = index_rows(documents, paths)
    files = sum(entry_bound(path, document.size) for path, document in zip(paths, documents, strict=True))
    indexes = entry_bound(INDEX_JSON, len(index_json(rows))) + entry_bound(INDEX_CSV, len(index_csv(rows)))
    return files + indexes + END_OVERHEAD_BYTES
