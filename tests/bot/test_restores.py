"""Undo tells how the restore ended, as the processor decided it (``contracts.effects``), read back through the
real API client from the stub: restored, restored under another name, a duplicate, not restored, not known yet."""

from __future__ import annotations

import pytest

from bot.ui.callbacks import DocAction, DocCb
from bot.ui.i18n import Texts
from contracts.effects import Effect
from contracts.events import DocumentRestored
from tests.bot.api_stub import MISSING_DOCUMENT
from tests.bot.conftest import StubbedBot

DOCUMENT = "00000000-0000-4000-8000-000000000042"
ORIGINAL = "00000000-0000-4000-8000-000000000007"
TR = Texts("en")
UNDO = DocCb(action=DocAction.undo, doc=DOCUMENT.replace("-", ""))


def _buttons(stubbed: StubbedBot) -> list[str]:
    return [button.text for row in stubbed.session.last_markup().inline_keyboard for button in row]


async def _undo(
    stubbed: StubbedBot,
    effect: str | None,
    status: str = "live",
    name: str | None = None,
    duplicate_of: str | None = None,
) -> str:
    stubbed.stub.document_status = "deleted"
    stubbed.stub.event_effect, stubbed.stub.status_after_event = effect, status
    stubbed.stub.name_after_event, stubbed.stub.duplicate_of = name, duplicate_of
    await stubbed.person.presses(UNDO)
    assert [type(p) for p in stubbed.publisher.payloads()] == [DocumentRestored]
    return stubbed.person.last_text()


async def test_undo_says_restored_when_the_document_is_back_under_its_name(stubbed: StubbedBot) -> None:
    assert await _undo(stubbed, Effect.restored) == TR("undo.done", name="type0 1")
    assert _buttons(stubbed) == [TR.plain("common.open"), TR.plain("common.menu")]


async def test_undo_names_the_new_name_when_the_old_one_was_taken_meanwhile(stubbed: StubbedBot) -> None:
    text = await _undo(stubbed, Effect.restored_renamed, name="type0 1 (2)")
    assert text == TR("undo.renamed", name="type0 1 (2)", old="type0 1")


async def test_undo_points_at_the_original_when_the_same_file_is_live_again(stubbed: StubbedBot) -> None:
    text = await _undo(stubbed, Effect.restored_duplicate, status="duplicate", duplicate_of=ORIGINAL)
    assert text == TR("undo.duplicate", name="type0 1", original="type0 1")
    opened = stubbed.session.last_markup().inline_keyboard[0][0].callback_data
    assert opened == DocCb(action=DocAction.open, doc=ORIGINAL.replace("-", "")).pack()


async def test_undo_says_the_same_file_is_kept_when_the_original_is_gone(stubbed: StubbedBot) -> None:
    text = await _undo(stubbed, Effect.restored_duplicate, status="duplicate", duplicate_of=MISSING_DOCUMENT)
    assert text == TR("undo.duplicate_gone", name="type0 1")


async def test_undo_says_it_stays_deleted_and_offers_undo_again_when_no_name_is_free(stubbed: StubbedBot) -> None:
    text = await _undo(stubbed, Effect.restore_conflict, status="deleted")
    assert text == TR("undo.conflict", name="type0 1")
    assert _buttons(stubbed) == [TR.plain("delete.undo"), TR.plain("common.menu")]


@pytest.mark.parametrize("late", ["event not applied", "reads answer 409"])
async def test_undo_says_it_was_sent_when_the_outcome_is_not_known_in_time(stubbed: StubbedBot, late: str) -> None:
    if late == "reads answer 409":
        stubbed.stub.conflicts_left = 100
    text = await _undo(stubbed, None if late == "event not applied" else Effect.restored)
    assert text == TR("undo.pending", name="type0 1")


async def test_undo_says_no_longer_in_the_trash_when_the_processor_found_it_purged(stubbed: StubbedBot) -> None:
    assert await _undo(stubbed, Effect.ignored_unknown, status="deleted") == TR("undo.expired")
    assert _buttons(stubbed) == [TR.plain("common.menu")]
