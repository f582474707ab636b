"""The confirmation word of "forget me" (pure)."""

from __future__ import annotations

import pytest

from bot.services.forgetting import confirms


@pytest.mark.parametrize("typed", ["FORGET", "forget", " Forget. ", "ｆｏｒｇｅｔ", "forget!"])
def test_confirms_accepts_word_when_case_spaces_or_full_stop_differ(typed: str) -> None:
    assert confirms(typed, "FORGET")


@pytest.mark.parametrize("typed", ["", "forgot", "forget me", "FORGET FORGET", "f o r g e t", "yes", "\u0000forget"])
def test_confirms_refuses_when_anything_but_the_word_typed(typed: str) -> None:
    assert not confirms(typed, "FORGET")


def test_confirms_accepts_russian_word_when_typed_in_lower_case() -> None:
    assert confirms("забыть", "ЗАБЫТЬ")
