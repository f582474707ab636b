"""Upcasters lift an old payload, one version at a time, to the version the code reads today."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

JsonObject = dict[str, Any]
Upcaster = Callable[[JsonObject], JsonObject]


def plaintext_v1_to_v2(payload: JsonObject) -> JsonObject:
    """``document.added`` and ``document.renamed`` v1 -> v2: the same fields, marked as the text the person typed
    (v2 seals it; the processors seal a v1 event's text with the person's key when they apply it)."""
    if "plaintext" in payload:
        raise ValueError("a v1 payload has no plaintext field")
    return {**payload, "plaintext": True}


def single_page_v2_to_v3(payload: JsonObject) -> JsonObject:
    """``document.added`` v2 -> v3: a document of one page (``file``), no more pages."""
    if "more_pages" in payload:
        raise ValueError("a v2 payload has no more_pages field")
    return {**payload, "more_pages": []}


# (event_type, from_version) -> function returning the payload at from_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("document.added", 1): plaintext_v1_to_v2,
    ("document.added", 2): single_page_v2_to_v3,
    ("document.renamed", 1): plaintext_v1_to_v2,
}


class MissingUpcaster(LookupError):
    """No path from a stored version to the current one."""


def upcast(
    event_type: str,
    version: int,
    payload: JsonObject,
    current_version: int,
    upcasters: Mapping[tuple[str, int], Upcaster] = UPCASTERS,
) -> JsonObject:
    """Apply upcasters from ``version`` until ``current_version`` is reached."""
    while version < current_version:
        step = upcasters.get((event_type, version))
        if step is None:
            raise MissingUpcaster(f"no upcaster for {event_type} v{version}")
        payload = step(payload)
        version += 1
    return payload
