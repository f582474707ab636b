"""The response mapper: the one place where the API opens what the read models keep sealed (names, type titles,
file names) with the person's key, before any of it leaves in an answer. Queries return what is stored; routes
answer what this module made of it."""

from __future__ import annotations

import logging

from api.core.errors import ApiError
from contracts.api_schemas import DocumentDetail, DocumentSummary, TypeSummary
from contracts.text import name_key
from service_kit.crypto import BrokenCiphertext, PersonKeys
from service_kit.keystore import KeyStore

log = logging.getLogger(__name__)
BROKEN_CIPHERTEXT = "broken_ciphertext"


def _opened(keys: PersonKeys, field: str, sealed: str) -> str:
    try:
        return keys.open(field, sealed)
    except BrokenCiphertext:
        log.error("a stored value does not open", extra={"owner_id": keys.owner_id, "field": field})
        raise ApiError(500, BROKEN_CIPHERTEXT, "a stored value does not open under its owner's key") from None


def opened_summary(keys: PersonKeys, summary: DocumentSummary, titles: dict[str, str] | None = None) -> DocumentSummary:
    """The summary with its name and type title opened; ``titles`` (sealed -> opened) spares opening a title
    twice."""
    titles = {} if titles is None else titles
    title = titles.get(summary.type_title)
    if title is None:
        title = titles[summary.type_title] = _opened(keys, "type_title", summary.type_title)
    return summary.model_copy(update={"name": _opened(keys, "name", summary.name), "type_title": title})


def opened_summaries(keys: PersonKeys, summaries: list[DocumentSummary]) -> list[DocumentSummary]:
    """Opened summaries; the documents of a type share its sealed title (the seal is deterministic), so a page
    opens it once rather than once per document."""
    titles: dict[str, str] = {}
    return [opened_summary(keys, summary, titles) for summary in summaries]


async def opened_duplicate(keys: KeyStore, owner_id: int, summary: DocumentSummary | None) -> DocumentSummary | None:
    """An upload's live original, opened (a live document implies its person has a key)."""
    person = await keys.get(owner_id) if summary is not None else None
    return opened_summary(person, summary) if person is not None and summary is not None else None


def _opened_file_name(keys: PersonKeys, sealed: str | None) -> str | None:
    return _opened(keys, "file_name", sealed) if sealed is not None else None


def opened_detail(keys: PersonKeys, detail: DocumentDetail) -> DocumentDetail:
    pages = [
        page.model_copy(update={"file_name": _opened_file_name(keys, page.file_name)}) for page in detail.more_pages
    ]
    return detail.model_copy(
        update={
            "name": _opened(keys, "name", detail.name),
            "type_title": _opened(keys, "type_title", detail.type_title),
            "file_name": _opened_file_name(keys, detail.file_name),
            "more_pages": pages,
        }
    )


def opened_types(keys: PersonKeys, types: list[TypeSummary]) -> list[TypeSummary]:
    """The types with their titles, in title order (keyed slugs have no meaningful order)."""
    opened = [kind.model_copy(update={"title": _opened(keys, "type_title", kind.title)}) for kind in types]
    return sorted(opened, key=lambda kind: (name_key(kind.title), kind.slug))


def by_name(summaries: list[DocumentSummary]) -> list[DocumentSummary]:
    """Opened summaries in name order (search answers a few; the database cannot order sealed names)."""
    return sorted(summaries, key=lambda summary: (name_key(summary.name), summary.document_id))
