"""Issue 12 in the bot: Move on the card (an existing type, a new one typed), Rename type and Delete type (confirm,
Undo) on a type's page; stale and someone else's buttons; Back and Cancel lead where the person came from."""

from __future__ import annotations

import uuid

from bot.dialogs.states import MoveDocument, RenameType
from bot.handlers.organising import move_reply, type_restore_text
from bot.services.organising import Outcome
from bot.ui.callbacks import DocAction, DocCb, TypeAction, TypeActionCb, TypeCb, TypeUndoCb
from bot.ui.i18n import Texts
from contracts.effects import Effect
from contracts.events import DocumentMoved, DocumentTypeRenamed
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.fakes import StoredDoc
from tests.bot.harness import Person
from tests.keyrings import TEST_PEOPLE

STRANGER = 9999
TR = Texts("en")
RU = Texts("ru")


def _doc(app: BotUnderTest, name: str, type_title: str = "Receipts", owner: int = OWNER) -> StoredDoc:
    doc = StoredDoc(
        owner, str(uuid.uuid4()), type_title.lower(), type_title, name, uuid.uuid4().hex * 2, 1, "application/pdf",
        "r.pdf", "tg-file",
    )  # fmt: skip
    return app.api.add(doc)


def _act(doc: StoredDoc, action: DocAction, back: str = "") -> DocCb:
    return DocCb(action=action, doc=uuid.UUID(doc.document_id).hex, back=back)


def _buttons(app: BotUnderTest) -> list[str]:
    return [button.text for row in app.session.last_markup().inline_keyboard for button in row]


async def test_move_offers_the_other_types_and_moves_when_one_is_chosen(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Lease")
    _doc(app, "Visa", "Travel")

    await ann.presses(_act(doc, DocAction.move))

    assert ann.last_text() == TR("move.ask", name="Lease")
    assert _buttons(app) == ["Travel", TR.plain("move.new_type"), TR.plain("card.back")]
    await ann.presses_button("Travel")
    assert ann.last_text() == TR("move.done", name="Lease", type="Travel")
    [payload] = app.publisher.payloads()
    assert isinstance(payload, DocumentMoved) and TEST_PEOPLE[OWNER].open("type_title", payload.type_title) == "Travel"
    assert (app.api.docs[doc.document_id].type_title, _buttons(app)) == (
        "Travel",
        [TR.plain("common.open"), TR.plain("common.menu")],
    )


async def test_move_tells_the_new_name_when_the_name_was_taken_in_the_new_type(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Lease")
    _doc(app, "Lease", "Travel")

    await ann.presses(_act(doc, DocAction.move))
    await ann.presses_button("Travel")

    assert ann.last_text() == TR("move.renamed", name="Lease (2)", type="Travel", old="Lease")


async def test_move_creates_the_typed_type_when_new_type_chosen(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Lease")

    await ann.presses(_act(doc, DocAction.move))
    await ann.presses_button(TR.plain("move.new_type"))
    assert (ann.last_text(), await ann.state()) == (
        TR("move.ask_title", name="Lease"),
        MoveDocument.entering_type.state,
    )
    await ann.says("  ")  # nothing usable: asked again
    assert ann.last_text() == TR("type.empty") and await ann.state() == MoveDocument.entering_type.state
    await ann.says("  Home   papers ")

    assert ann.last_text() == TR("move.done", name="Lease", type="Home papers")
    assert await ann.state() is None
    assert app.api.docs[doc.document_id].type_slug == "home-papers"


async def test_move_back_returns_to_the_card_with_its_origin_when_pressed(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Lease")
    origin = "t" + "a" * 12

    await ann.presses(_act(doc, DocAction.move, back=origin))

    back = app.session.last_markup().inline_keyboard[-1][0].callback_data
    assert back == _act(doc, DocAction.open, back=origin).pack() and not app.publisher.events


async def test_move_alerts_and_appends_nothing_when_the_document_is_someone_elses(
    app: BotUnderTest, ann: Person
) -> None:
    foreign = _doc(app, "Their lease", owner=STRANGER)

    await ann.presses(_act(foreign, DocAction.move))
    await ann.presses(_act(foreign, DocAction.move_new))

    assert ann.last_text() != TR("move.ask", name="Their lease") and not app.publisher.events
    assert await ann.state() is None


def test_move_reply_says_pending_or_gone_when_not_applied_or_document_went_away() -> None:
    doc = StoredDoc(OWNER, str(uuid.uuid4()), "r", "R", "Lease", "", 1, "a/b", None, None).detail()

    pending = move_reply(TR, Outcome(None, "Travel"), doc)
    gone = move_reply(RU, Outcome(Effect.ignored_unknown, "Travel"), doc)
    conflict = move_reply(TR, Outcome(Effect.move_conflict, "Travel", "Lease"), doc)

    assert (pending[0], gone[0]) == (TR("move.pending", name="Lease", type="Travel"), RU("card.gone"))
    assert conflict[0] == TR("move.conflict", name="Lease", type="Travel")


async def test_type_page_offers_rename_and_delete_when_opened(app: BotUnderTest, ann: Person) -> None:
    _doc(app, "Lease")

    await ann.presses(TypeCb(slug="receipts"))

    assert TR.plain("type.rename") in _buttons(app) and TR.plain("type.delete") in _buttons(app)


async def test_type_rename_renames_when_a_free_title_is_typed(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Lease")

    await ann.presses(TypeActionCb(action=TypeAction.rename, slug="receipts"))
    assert ann.last_text() == TR("type.rename_ask", title="Receipts")
    assert await ann.state() == RenameType.entering_title.state
    await ann.says("Bills")

    assert ann.last_text() == TR("type.renamed", title="Bills")
    assert app.api.docs[doc.document_id].type_title == "Bills" and await ann.state() is None
    [payload] = app.publisher.payloads()
    assert isinstance(payload, DocumentTypeRenamed)
    assert _buttons(app)[0] == TR.plain("type.open")


async def test_type_rename_refuses_when_another_type_with_documents_has_that_title(
    app: BotUnderTest, ann: Person
) -> None:
    _doc(app, "Lease")
    _doc(app, "Visa", "Travel")

    await ann.presses(TypeActionCb(action=TypeAction.rename, slug="receipts"))
    await ann.says("travel")

    assert ann.last_text() == TR("type.rename_taken", title="Travel")
    assert not app.publisher.events and await ann.state() == RenameType.entering_title.state
    await ann.says("/cancel")
    assert await ann.state() is None


async def test_type_rename_says_same_when_the_title_does_not_change(app: BotUnderTest, ann: Person) -> None:
    _doc(app, "Lease")

    await ann.presses(TypeActionCb(action=TypeAction.rename, slug="receipts"))
    await ann.says("Receipts")

    assert ann.last_text() == TR("type.rename_same") and not app.publisher.events


async def test_type_delete_confirms_then_undo_restores_when_pressed(app: BotUnderTest, ann: Person) -> None:
    kept, other = _doc(app, "Lease"), _doc(app, "Bill")
    earlier = _doc(app, "Old")
    app.api.docs[earlier.document_id].status = "deleted"

    await ann.presses(TypeActionCb(action=TypeAction.delete, slug="receipts"))
    assert ann.last_text() == TR("type.delete_confirm", title="Receipts", count=2) and not app.publisher.events
    await ann.presses_button(TR.plain("delete.yes"))
    assert ann.last_text() == TR("type.deleted", title="Receipts")
    assert _buttons(app) == [TR.plain("delete.undo"), TR.plain("browse.to_types"), TR.plain("common.menu")]
    assert {app.api.docs[d.document_id].status for d in (kept, other)} == {"deleted"}
    await ann.presses_button(TR.plain("delete.undo"))

    assert ann.last_text() == TR("type.restored", title="Receipts")
    assert [app.api.docs[d.document_id].status for d in (kept, other, earlier)] == ["live", "live", "deleted"]
    assert [type(p).__name__ for p in app.publisher.payloads()] == ["DocumentTypeDeleted", "DocumentTypeRestored"]
    await ann.presses(TypeUndoCb(event=app.publisher.events[0].event_id.hex))  # a second tap, on an older button
    assert ann.last_text() == TR("type.nothing_to_restore_unnamed")


async def _deletes_receipts_with_lease(app: BotUnderTest, ann: Person) -> None:
    _doc(app, "Lease")
    await ann.presses(TypeActionCb(action=TypeAction.delete, slug="receipts"))
    await ann.presses_button(TR.plain("delete.yes"))


async def test_type_undo_names_the_type_and_opens_its_page_when_the_type_is_back(
    app: BotUnderTest, ann: Person
) -> None:
    await _deletes_receipts_with_lease(app, ann)
    with_undo = app.session.last_keyboards[ann.chat.id]
    await ann.presses_button(TR.plain("delete.undo"))
    assert _buttons(app) == [TR.plain("type.open"), TR.plain("browse.to_types"), TR.plain("common.menu")]

    await ann.presses_button(TR.plain("type.open"))
    assert ann.last_text() == TR("browse.type_single", title="Receipts") and "Lease" in _buttons(app)
    await ann.presses_button(TR.plain("delete.undo"), on=with_undo)  # the same Undo again, scrolled back to
    assert ann.last_text() == TR("type.nothing_to_restore", title="Receipts")


async def test_type_undo_names_no_type_and_offers_the_types_when_its_button_does_not_know_the_type(
    app: BotUnderTest, ann: Person
) -> None:
    await _deletes_receipts_with_lease(app, ann)
    deletion = app.publisher.events[0].event_id.hex

    await ann.presses(f"z:{deletion}:{'a' * 12}")  # a token expired or never stored

    assert ann.last_text() == TR("type.restored_unnamed")
    assert _buttons(app) == [TR.plain("browse.to_types"), TR.plain("common.menu")]
    assert app.api.docs and all(d.status == "live" for d in app.api.docs.values())


def test_type_restore_text_names_the_type_when_pending_partly_or_not_known() -> None:
    assert type_restore_text(RU, None, "Чеки") == RU("type.restore_pending", title="Чеки")
    assert type_restore_text(TR, Effect.type_restored_partly, "Bills") == TR("type.restored_partly", title="Bills")
    assert type_restore_text(TR, Effect.type_restored_partly, None) == TR("type.restored_partly_unnamed")
    assert type_restore_text(TR, None, None) == TR("type.restore_pending_unnamed")
    assert "Чеки" in type_restore_text(RU, Effect.type_restored, "Чеки")


async def test_type_delete_no_returns_to_the_type_page_when_pressed(app: BotUnderTest, ann: Person) -> None:
    _doc(app, "Lease")

    await ann.presses(TypeActionCb(action=TypeAction.delete, slug="receipts"))
    await ann.presses_button(TR.plain("delete.no"))

    assert ann.last_text() == TR("browse.type_single", title="Receipts") and not app.publisher.events


async def test_type_actions_alert_and_append_nothing_when_the_type_is_someone_elses(
    app: BotUnderTest, ann: Person
) -> None:
    _doc(app, "Their lease", owner=STRANGER)

    for action in TypeAction:
        await ann.presses(TypeActionCb(action=action, slug="receipts"))

    assert not app.publisher.events and await ann.state() is None
    assert app.api.docs and all(d.status == "live" for d in app.api.docs.values())


async def test_organising_speaks_russian_with_a_way_on_at_every_step_when_the_person_reads_russian(
    app: BotUnderTest,
) -> None:
    ru = app.person(language="ru")
    doc = _doc(app, "Договор", "Работа")

    await ru.presses(_act(doc, DocAction.open))
    await ru.presses_button(RU.plain("card.move"))
    await ru.presses_button(RU.plain("move.new_type"))
    assert ru.last_text() == RU("move.ask_title", name="Договор")
    await ru.says("Жильё")
    assert ru.last_text() == RU("move.done", name="Договор", type="Жильё")
    await ru.presses(TypeCb(slug=app.api.docs[doc.document_id].type_slug))
    await ru.presses_button(RU.plain("type.rename"))
    await ru.says("Квартира")
    assert ru.last_text() == RU("type.renamed", title="Квартира")
    await ru.presses_button(RU.plain("type.open"))
    await ru.presses_button(RU.plain("type.delete"))
    await ru.presses_button(RU.plain("delete.yes"))
    assert ru.last_text() == RU("type.deleted", title="Квартира")
    await ru.presses_button(RU.plain("delete.undo"))

    assert (
        ru.last_text() == RU("type.restored", title="Квартира") == "✅ Раздел «Квартира» и его документы восстановлены."
    )
    assert not app.session.dead_ends
