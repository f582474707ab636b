"""How the keyboards lay their buttons out: rows that read well on a phone in both languages (``fit_rows``), the card
and a type's page in English and Russian."""

from __future__ import annotations

import uuid

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from hypothesis import given
from hypothesis import strategies as st

from bot.ui import keyboards
from bot.ui.callbacks import Origin, TypeCb
from bot.ui.i18n import LANGUAGES, Language, Texts

LABELS = st.text(min_size=1, max_size=40)


def _button(text: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data="x")


def _labels(markup: InlineKeyboardMarkup) -> list[list[str]]:
    return [[button.text for button in row] for row in markup.inline_keyboard]


@given(st.lists(LABELS, max_size=8))
def test_fit_rows_keeps_order_and_fills_rows_within_the_limits_when_given_any_labels(labels: list[str]) -> None:
    rows = keyboards.fit_rows([_button(text) for text in labels])

    assert [button.text for row in rows for button in row] == labels
    for row in rows:
        assert 1 <= len(row) <= keyboards.ROW_BUTTONS
        assert len(row) == 1 or sum(len(button.text) for button in row) <= keyboards.ROW_CHARACTERS
    for row, following in zip(rows, rows[1:]):  # a row is cut only when the next button would not fit in it
        width = sum(len(button.text) for button in row) + len(following[0].text)
        assert len(row) == keyboards.ROW_BUTTONS or width > keyboards.ROW_CHARACTERS


def test_fit_rows_puts_a_long_label_alone_when_it_exceeds_the_row() -> None:
    rows = keyboards.fit_rows([_button("a"), _button("b" * (keyboards.ROW_CHARACTERS + 1)), _button("c")])

    assert [[button.text for button in row] for row in rows] == [["a"], ["b" * (keyboards.ROW_CHARACTERS + 1)], ["c"]]


@pytest.mark.parametrize("language", LANGUAGES)
def test_document_card_lays_the_changes_out_as_rename_and_move_then_date_and_delete_when_shown(
    language: Language,
) -> None:
    tr = Texts(language)

    card = keyboards.document_card(tr, str(uuid.uuid4()), TypeCb(slug="t"), links_enabled=True)

    assert _labels(card) == [
        [tr.plain("card.get"), tr.plain("card.link")],
        [tr.plain("card.add_page")],
        [tr.plain("card.rename"), tr.plain("card.move")],
        [tr.plain("card.valid_until"), tr.plain("card.delete")],
        [tr.plain("card.back"), tr.plain("common.menu")],
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_document_card_keeps_every_row_within_the_limits_when_links_are_off(language: Language) -> None:
    tr = Texts(language)

    card = keyboards.document_card(tr, str(uuid.uuid4()), TypeCb(slug="t"), links_enabled=False)

    assert tr.plain("card.link") not in str(_labels(card)) and _labels(card)[0][0] == tr.plain("card.get")
    assert all(sum(map(len, row)) <= keyboards.ROW_CHARACTERS for row in _labels(card))


@pytest.mark.parametrize(
    ("language", "rows"),
    [("en", [["type.rename", "type.delete"]]), ("ru", [["type.rename"], ["type.delete"]])],
    ids=["en", "ru"],
)
def test_type_page_puts_its_actions_in_the_rows_its_language_needs_when_shown(
    language: Language, rows: list[list[str]]
) -> None:
    tr = Texts(language)

    page = keyboards.document_page(tr, [], None, None, Origin(), slug="passport")

    assert _labels(page)[: len(rows)] == [[tr.plain(key) for key in row] for row in rows]
