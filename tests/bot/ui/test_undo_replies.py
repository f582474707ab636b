"""What Delete and Undo say about the trash: until when a document can be restored, and that it no longer can."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.restores import RestoreOutcome
from bot.ui.i18n import Texts
from bot.ui.undo_replies import deleted_text, restore_reply
from contracts.effects import Effect

EN, RU = Texts("en"), Texts("ru")
UNTIL = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)


def test_deleted_text_names_the_local_deadline_in_each_language_when_the_api_told_it() -> None:
    assert deleted_text(EN, "Visa", UNTIL, "Europe/Moscow") == EN(
        "delete.done_until", name="Visa", until="1 Apr 2026, 12:30 MSK"
    )
    assert deleted_text(RU, "Виза", UNTIL, "Europe/Moscow") == RU(
        "delete.done_until", name="Виза", until="01.04.2026, 12:30 МСК"
    )


def test_deleted_text_says_only_deleted_when_the_deadline_is_not_known_in_time() -> None:
    assert deleted_text(EN, "Visa", None, "Europe/Moscow") == EN("delete.done", name="Visa")


def test_restore_reply_says_no_longer_in_the_trash_when_the_processor_found_the_document_gone() -> None:
    outcome = RestoreOutcome(Effect.ignored_unknown, "d", "Visa")

    assert restore_reply(RU, outcome, "Виза")[0] == RU("undo.expired")
    assert restore_reply(EN, outcome, "Visa")[0] == EN("undo.expired") != EN("card.gone")
