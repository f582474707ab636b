"""A dialog is one screen's business: a button of another message or a command ends it, its old prompts answer
"outdated", and the person's next words never apply to an abandoned step (the real dispatcher and Redis)."""

from __future__ import annotations

import uuid

import pytest
from aiogram.methods import SendDocument

from bot.dialogs.states import AddDocument, RenameDocument
from bot.middlewares.dialog_scope import (
    MAX_DIALOG_MESSAGES,
    ButtonVerdict,
    dialog_button_verdict,
    is_dialog_button,
    tied_messages,
)
from bot.ui.callbacks import DocAction, DocCb, MenuAction, MenuCb, PickTypeCb, RetrySaveCb, SuggestedNameCb, TypeCb
from bot.ui.i18n import Texts
from contracts.events import DocumentAddedV2, DocumentAddedV3, DocumentRenamedV2
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.fakes import StoredDoc
from tests.bot.harness import Person

TR = Texts("en")
STALE = TR.plain("stale.button")
# Text at the menu is searched for; nothing found, the reply also says a dialog may have been interrupted.
AT_THE_MENU = TR("search.nothing_at_menu", query="hello")


def _doc(app: BotUnderTest, name: str) -> StoredDoc:
    return app.api.add(
        StoredDoc(
            OWNER,
            str(uuid.uuid4()),
            "receipts",
            "Receipts",
            name,
            uuid.uuid4().hex * 2,
            4,
            "application/pdf",
            f"{name}.pdf",
            f"tg-{name}",
        ),
        b"data",
    )


def _open(doc: StoredDoc) -> DocCb:
    return DocCb(action=DocAction.open, doc=uuid.UUID(doc.document_id).hex)


async def _list_above(ann: Person) -> None:
    """The page of Receipts, left on screen while the person goes on elsewhere."""
    await ann.says("/documents")
    await ann.presses_button("Receipts")


async def test_rename_is_abandoned_when_another_documents_button_is_pressed_before_typing(
    app: BotUnderTest, ann: Person
) -> None:
    alpha, _ = _doc(app, "Alpha"), _doc(app, "Bravo")
    await _list_above(ann)
    await ann.says("/search alpha")  # a second list: Alpha's card opens there, the page of Receipts stays above
    await ann.presses_button("Alpha · Receipts")
    await ann.presses_button("Rename")
    assert await ann.state() == RenameDocument.entering_name.state

    await ann.presses_button("Bravo", on=app.session.message_showing("Bravo"))  # the page further up
    await ann.presses_button("Get file")
    await ann.says("hello")

    assert not [p for p in app.publisher.payloads() if isinstance(p, DocumentRenamedV2)]
    assert app.api.docs[alpha.document_id].name == "Alpha"
    assert [call.caption for call in app.session.calls(SendDocument)] == ["Bravo"]
    assert AT_THE_MENU in ann.last_text() and "Add document" in str(app.session.last_markup())
    assert await ann.state() is None


async def test_add_is_abandoned_when_a_document_of_a_list_is_opened_mid_way(app: BotUnderTest, ann: Person) -> None:
    _doc(app, "Bravo")
    await _list_above(ann)
    await ann.says("/add")
    await ann.says("Passport")
    assert await ann.state() == AddDocument.entering_name.state

    await ann.presses_button("Bravo", on=app.session.message_showing("Bravo"))
    await ann.presses_button("Get file")
    await ann.says("hello")
    await ann.sends_file(b"%PDF new", file_name="new.pdf")  # a new dialog starts from the file, asking its type

    assert not [p for p in app.publisher.payloads() if isinstance(p, DocumentAddedV2)]
    assert AT_THE_MENU in ann.saw()[-2]
    assert ann.last_text().startswith("Got the file.\nWhat kind of document")


async def test_dialog_ends_when_a_command_is_sent_mid_way(app: BotUnderTest, ann: Person) -> None:
    await ann.presses(_open(_doc(app, "Alpha")))
    await ann.presses_button("Rename")
    await ann.says("/documents")
    await ann.says("hello")
    assert not app.publisher.events and AT_THE_MENU in ann.last_text()


async def test_cancel_command_says_cancelled_when_it_ends_a_dialog(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/add")
    await ann.says("/cancel")
    assert ann.last_text() == "Cancelled. What would you like to do?" and await ann.state() is None


async def test_old_prompt_answers_outdated_when_its_dialog_is_over(app: BotUnderTest, ann: Person) -> None:
    await ann.sends_file(b"%PDF", file_name="Policy.pdf")
    await ann.says("Insurance")
    old_prompt = app.session.last_keyboard
    await ann.says("/menu")
    for text in ("Use “Policy”", "Cancel"):
        await ann.presses_button(text, on=old_prompt)
    assert ann.saw()[-2:] == [STALE, STALE] and not app.publisher.events


async def test_old_dialogs_buttons_answer_outdated_and_leave_the_open_dialog_when_pressed(
    app: BotUnderTest, ann: Person
) -> None:
    await ann.sends_file(b"%PDF", file_name="Policy.pdf")
    await ann.says("Insurance")
    old_prompt = app.session.last_keyboard
    await ann.says("/add")
    await ann.says("Passport")

    await ann.presses_button("Use “Policy”", on=old_prompt)
    await ann.presses_button("Cancel", on=old_prompt)

    assert ann.saw()[-2:] == [STALE, STALE]
    assert await ann.state() == AddDocument.entering_name.state
    await ann.says("Main")
    assert ann.last_text() == TR("add.ask_file", name="Main")


async def test_retry_still_saves_when_the_failed_save_is_retried_from_its_own_message(
    app: BotUnderTest, ann: Person
) -> None:
    await ann.says("/add")
    await ann.says("Passport")
    await ann.says("Main")
    app.publisher.down = True
    await ann.sends_file(b"%PDF")
    retry_message = app.session.last_keyboard
    app.publisher.down = False
    await ann.sends_photo(b"\xff\xd8")  # Telegram's answer to a photo mid-save is another prompt of the dialog
    await ann.presses_button("Try again", on=retry_message)
    assert [type(p) for p in app.publisher.payloads()] == [DocumentAddedV3]


async def test_dialog_messages_are_remembered_per_dialog_when_it_goes_on(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/add")
    type_question = app.session.last_keyboard
    await ann.says("Passport")
    await ann.presses(MenuCb(action=MenuAction.cancel), on=type_question)  # still a prompt of this dialog
    assert ann.last_text() == "Cancelled. What would you like to do?"


@pytest.mark.parametrize(
    ("dialog_open", "on_dialog_message", "dialog_button", "verdict"),
    [
        (True, True, True, ButtonVerdict.handle),
        (True, True, False, ButtonVerdict.handle),
        (True, False, True, ButtonVerdict.outdated),
        (True, False, False, ButtonVerdict.leave_then_handle),
        (False, False, True, ButtonVerdict.outdated),
        (False, False, False, ButtonVerdict.handle),
    ],
)
def test_dialog_button_verdict_decides_by_the_message_when_a_button_is_pressed(
    dialog_open: bool, on_dialog_message: bool, dialog_button: bool, verdict: ButtonVerdict
) -> None:
    assert dialog_button_verdict(dialog_open, on_dialog_message, dialog_button) is verdict


def test_dialog_buttons_are_the_ones_that_mean_nothing_outside_a_dialog_when_classified() -> None:
    inside = [PickTypeCb(token="t"), SuggestedNameCb(), RetrySaveCb(), MenuCb(action=MenuAction.cancel)]
    outside = [MenuCb(action=MenuAction.menu), TypeCb(slug="a"), DocCb(action=DocAction.get, doc="0" * 32)]
    assert [is_dialog_button(data.pack()) for data in inside + outside] == [True] * 4 + [False] * 3
    assert not is_dialog_button(None) and is_dialog_button("p:forged")


def test_tied_messages_keep_the_latest_without_repeats_when_a_dialog_grows() -> None:
    ids = tied_messages([1, 2], [2, 3])
    assert ids == [1, 2, 3]
    assert tied_messages(list(range(20)), [99]) == [*range(20 - MAX_DIALOG_MESSAGES + 1, 20), 99]
