"""Which names a document may take when the one asked for is taken: copy suffixes, then its id, all within the
name limit, as clean names a person could have typed."""

from __future__ import annotations

import uuid
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.read_models import copies_key
from contracts.text import MAX_NAME_LENGTH, base_name_key, clean_display_name, name_key
from stream_processors.projections.naming import (
    MAX_COPY_NUMBER,
    NameRules,
    id_family_names,
    name_candidates,
    suffixed,
)
from tests.contracts.strategies import LATIN_CYRILLIC, display_names

DOCUMENT_ID = uuid.UUID("c0a8012e-5b3f-4d7a-8e21-6f4b9d2a7c15")
ID_NAME = "Паспорт (c0a8012e5b3f4d7a8e216f4b9d2a7c15)"
# Long names, and names whose start holds nothing a name key keeps (combining marks), stress the cut.
_names = (
    display_names()
    | display_names(alphabet=LATIN_CYRILLIC)
    | st.builds(
        lambda marks, rest: clean_display_name(marks + rest),
        st.text("\u0301\u0308", min_size=90, max_size=124),
        st.text("ab", min_size=1, max_size=4),
    )
)


@pytest.mark.parametrize(
    ("name", "suffix", "expected"),
    [
        ("Паспорт", " (2)", "Паспорт (2)"),
        ("a" * 124, " (2)", "a" * 124 + " (2)"),
        ("a" * 125, " (2)", "a" * 124 + " (2)"),
        ("a" * 122 + " b", " (10)", "a" * 122 + " (10)"),
        ("a" * 128, " (1000)", "a" * 121 + " (1000)"),
    ],
    ids=["fits", "just-fits", "cut-one", "cut-at-space", "cut-seven"],
)
def test_suffixed_cuts_the_name_so_the_suffix_fits_when_too_long(name: str, suffix: str, expected: str) -> None:
    assert suffixed(name, suffix, MAX_NAME_LENGTH) == expected


def test_name_candidates_tries_the_name_then_copies_then_the_id_when_listed() -> None:
    candidates = list(name_candidates("Паспорт", str(DOCUMENT_ID), NameRules(max_copy_number=4)))

    assert candidates == ["Паспорт", "Паспорт (2)", "Паспорт (3)", "Паспорт (4)", ID_NAME]


def test_name_candidates_lists_copy_suffixes_up_to_the_limit_when_rules_default() -> None:
    candidates = list(name_candidates("x", str(DOCUMENT_ID), NameRules()))

    assert (len(candidates), candidates[-2], MAX_COPY_NUMBER) == (MAX_COPY_NUMBER + 1, "x (1000)", 1000)


def test_id_family_names_numbers_the_id_name_when_listed() -> None:
    family = list(islice(id_family_names("Паспорт", str(DOCUMENT_ID), NameRules()), 3))

    assert family == [ID_NAME, f"{ID_NAME} (2)", f"{ID_NAME} (3)"]


@settings(max_examples=300, deadline=None)
@given(name=_names, document_id=st.uuids(), max_copy_number=st.integers(1, 12))
def test_name_candidates_are_clean_names_within_the_limit_when_any_name_asked(
    name: str, document_id: uuid.UUID, max_copy_number: int
) -> None:
    rules = NameRules(max_copy_number=max_copy_number)
    family = islice(id_family_names(name, str(document_id), rules), 12)
    names = [*name_candidates(name, str(document_id), rules), *family]

    assert all(len(candidate) <= MAX_NAME_LENGTH and clean_display_name(candidate) == candidate for candidate in names)
    assert names[0] == name


@settings(max_examples=200, deadline=None)
@given(name=_names, document_id=st.uuids())
def test_id_family_names_share_one_copies_key_when_numbered(name: str, document_id: uuid.UUID) -> None:
    """So one lookup of the store finds every document a numbered id name could collide with."""
    family = islice(id_family_names(name, str(document_id), NameRules()), 30)

    assert len({copies_key(7, base_name_key(name_key(candidate))) for candidate in family}) == 1
