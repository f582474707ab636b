"""Hypothesis strategies for names as the bot puts them in events."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from hypothesis import assume
from hypothesis import strategies as st

from contracts.text import MAX_NAME_LENGTH, InvalidName, clean_display_name


def _letters(first: int, last: int) -> st.SearchStrategy[str]:
    return st.characters(min_codepoint=first, max_codepoint=last,
                         categories=("Lu", "Ll", "Lt", "Nd", "Zs", "Po", "Pd", "Ps", "Pe"))


# Latin with its accented letters, combining accents, Cyrillic, digits, spaces and punctuation.
LATIN_CYRILLIC = st.one_of(_letters(0x20, 0x24F), st.characters(min_codepoint=0x300, max_codepoint=0x36F),
                           _letters(0x400, 0x4FF))


@st.composite
def display_names(
    draw: st.DrawFn, max_length: int = MAX_NAME_LENGTH, alphabet: st.SearchStrategy[str] = st.characters()
) -> str:
    """Any text a person may type, after ``clean_display_name`` (what the bot puts in events)."""
    raw = draw(st.text(alphabet=alphabet, max_size=max_length))
    try:
        return clean_display_name(raw, max_length)
    except InvalidName:
        assume(False)
        raise


def occurred_instants(timezones: st.SearchStrategy[tzinfo] = st.just(UTC)) -> st.SearchStrategy[datetime]:
    """Instants an envelope accepts as ``occurred_at`` (a day's margin for the zones' offsets)."""
    return st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 30), timezones=timezones)
