"""The names a document may take when the one asked for is taken by another live document of its type.

In order: the name itself, its copy suffixes "x (2)" … "x (1000)", then the name suffixed with the
document's id, "x (<32 hex digits>)", which no other document takes unless someone typed it. Renames and
restores stop there (they have a state to keep: the old name, the deleted status). An add has none, so it
goes on with the numbered id names "x (<id>) (2)", "x (<id>) (3)" … : they share one copies key, so the
live documents they could collide with are found by one lookup, and one of them is free, since an owner's
live documents are finitely many.

A suffix never takes a name past ``MAX_NAME_LENGTH``: the asked name is cut (and a space left at the cut
dropped), so that every name here is one a person could have typed and renamed to.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count

from contracts.text import MAX_NAME_LENGTH, with_copy_suffix

MAX_COPY_NUMBER = 1000
# Room kept in the numbered id names for " (n)": up to n = 999,999,999, more live documents than anyone has.
_ID_FAMILY_NUMBER_ROOM = len(" (999999999)")


@dataclass(frozen=True)
class NameRules:
    """The limits naming works within; tests pass small ones to reach them in a few events."""

    max_copy_number: int = MAX_COPY_NUMBER
    max_length: int = MAX_NAME_LENGTH


def suffixed(name: str, suffix: str, max_length: int) -> str:
    """``name + suffix``, the name cut at its end if both would not fit in ``max_length``."""
    if len(name) + len(suffix) <= max_length:
        return name + suffix
    return name[: max_length - len(suffix)].rstrip() + suffix


def name_candidates(wanted: str, document_id: str, rules: NameRules) -> Iterator[str]:
    """The asked name, its copy suffixes up to the limit, then its id name."""
    yield wanted
    for copy_number in range(2, rules.max_copy_number + 1):
        yield suffixed(wanted, with_copy_suffix("", copy_number), rules.max_length)
    yield id_name(wanted, document_id, rules.max_length)


def id_name(wanted: str, document_id: str, max_length: int) -> str:
    return suffixed(wanted, f" ({uuid.UUID(document_id).hex})", max_length)


def id_family_names(wanted: str, document_id: str, rules: NameRules) -> Iterator[str]:
    """Endless: the id name (cut to leave room for a number), then the same numbered from 2."""
    base = id_name(wanted, document_id, rules.max_length - _ID_FAMILY_NUMBER_ROOM)
    for number in count(1):
        yield with_copy_suffix(base, number)
