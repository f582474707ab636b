"""Pure decisions about what to show or accept: names, sizes, incoming files. No I/O here."""

from __future__ import annotations

import mimetypes
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath

from aiogram.types import Message

from bot.services.saving import IncomingFile
from bot.ui.dates import day_text
from bot.ui.i18n import Texts
from contracts.api_schemas import StorageUsage
from contracts.text import MAX_NAME_LENGTH, InvalidName, clean_display_name

DEFAULT_MIME = "application/octet-stream"
PHOTO_MIME = "image/jpeg"
MAX_STORED_FILE_NAME = 256
_SIZE_UNITS = (("size.gb", 1024**3), ("size.mb", 1024**2), ("size.kb", 1024))


def incoming_file(message: Message) -> IncomingFile | None:
    """The document or the largest photo size of ``message``; None for anything else."""
    if message.document is not None:
        document = message.document
        return IncomingFile(
            file_id=document.file_id,
            file_unique_id=document.file_unique_id,
            file_name=(document.file_name or None) and document.file_name[:MAX_STORED_FILE_NAME],
            mime_type=(document.mime_type or DEFAULT_MIME)[:128],
            size=document.file_size,
        )
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        return IncomingFile(largest.file_id, largest.file_unique_id, None, PHOTO_MIME, largest.file_size, True)
    return None


def file_format(mime_type: str, file_name: str | None) -> str | None:
    """The file's format as people name it ("PDF", "JPG", "DOCX"): the file name's extension, else the one
    its media type usually has; None when neither tells (``application/octet-stream`` without an extension)."""
    stem_and_extension = PurePosixPath((file_name or "").replace("\\", "/")).name.lstrip(".")
    extension = stem_and_extension.rsplit(".", 1)[1] if "." in stem_and_extension else ""
    if not (extension.isascii() and extension.isalnum() and len(extension) <= 5):
        extension = ""
    if not extension and mime_type != DEFAULT_MIME:
        extension = (mimetypes.guess_extension(mime_type, strict=False) or "").lstrip(".")
    return extension.upper() or None


def too_big(size: int | None, limit: int) -> bool:
    return size is not None and size > limit


def suggest_name(file_name: str | None, keep_extension: bool = False) -> str | None:
    """A document name from a file name: the stem, cleaned ("Scan_01.pdf" -> "Scan_01"); None if unusable.
    ``keep_extension`` for text that is no file name (a photo's caption: "Passport p.1" stays whole)."""
    if not file_name:
        return None
    if keep_extension:
        stem = " ".join(file_name.split())
    else:
        stem = PurePosixPath(file_name.replace("\\", "/")).name
        stem = stem.rsplit(".", 1)[0] if "." in stem.lstrip(".") else stem
    try:
        return clean_display_name(stem[:MAX_NAME_LENGTH])
    except InvalidName:
        return None


@dataclass(frozen=True)
class NameCheckResult:
    name: str | None
    problem: str | None  # a locale key when the name cannot be used


def check_name(raw: str, max_length: int, problem_prefix: str) -> NameCheckResult:
    """Clean a typed name; the problem is ``<prefix>.empty`` or ``<prefix>.too_long``."""
    try:
        return NameCheckResult(clean_display_name(raw, max_length), None)
    except InvalidName as error:
        return NameCheckResult(None, f"{problem_prefix}.{error.reason}")


def human_size(size: int) -> tuple[str, str]:
    """(locale key, number) for a byte count: (``size.mb``, "1.5")."""
    for key, unit in _SIZE_UNITS:
        if size >= unit:
            return key, f"{size / unit:.1f}".removesuffix(".0")
    return "size.b", str(size)


def size_text(tr: Texts, size: int) -> str:
    """A byte count as the person reads it: "1.5 MB"."""
    key, number = human_size(size)
    return tr.plain(key, n=number)


def quota_text(tr: Texts, usage: StorageUsage | None, name: str) -> str:
    """Why ``name`` was not saved: which limit is reached, how much of it is used, what to do."""
    if usage is None:
        return tr("quota.reached", name=name)
    key = "quota.documents" if usage.documents >= usage.documents_limit else "quota.bytes"
    return tr(
        key,
        name=name,
        documents=usage.documents,
        documents_limit=usage.documents_limit,
        used=size_text(tr, usage.bytes),
        limit=size_text(tr, usage.bytes_limit),
    )


def doc_ref(document_id: str) -> str:
    """The compact form of a document id used in callback data (32 hex digits)."""
    return uuid.UUID(document_id).hex


def parse_doc_ref(ref: str) -> str | None:
    """The API's document id for callback data, or None when it is not one (forged or garbled)."""
    try:
        return str(uuid.UUID(hex=ref))
    except ValueError:
        return None


MAX_MEDIA_GROUP = 10  # Telegram's sendMediaGroup: 2 to 10 items, photos and documents never mixed


@dataclass(frozen=True)
class PageRef:
    """One page of a document as Get file sends it."""

    number: int  # 1: the first
    mime_type: str
    file_name: str | None
    telegram_file_id: str | None

    @property
    def is_photo(self) -> bool:
        """A camera photo (no file name) goes back as a photo; anything else as a file."""
        return self.mime_type == PHOTO_MIME and self.file_name is None


def media_groups(pages: list[PageRef]) -> list[list[PageRef]]:
    """Pure: the pages in order, cut into the groups Telegram sends as albums: a new group where photos and files
    change places, and every ``MAX_MEDIA_GROUP`` pages."""
    groups: list[list[PageRef]] = []
    for page in pages:
        last = groups[-1] if groups else None
        if last is None or len(last) == MAX_MEDIA_GROUP or last[0].is_photo != page.is_photo:
            groups.append([page])
        else:
            last.append(page)
    return groups


def valid_until_line(tr: Texts, valid_until: date | None, today: date) -> str:
    """The card's valid-until line ("" without a date), saying so when the date has passed."""
    if valid_until is None:
        return ""
    key = "card.valid_until_past" if valid_until < today else "card.valid_until_line"
    return "\n" + tr(key, date=day_text(tr.language, valid_until))


def reminder_text(tr: Texts, name: str, type_title: str, valid_until: date, today: date) -> str:
    """A valid-until reminder: the document, its date and the days left (a label and a value: no plural)."""
    days = (valid_until - today).days
    return tr("reminder.text", name=name, type=type_title, date=day_text(tr.language, valid_until), days=days)
