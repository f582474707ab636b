"""My documents: types, paging, the card and its actions (get, rename, delete, undo, link), forged buttons."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, SendDocument, SendPhoto

from bot.dialogs.states import RenameDocument
from bot.ui.callbacks import DocAction, DocCb, ListCb
from bot.ui.dates import moment_text
from bot.ui.i18n import Language, Texts
from contracts.events import DocumentDeleted, DocumentRenamedV2, DocumentRestored
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.fakes import StoredDoc
from tests.bot.harness import Person
from tests.keyrings import TEST_PEOPLE

OTHER_OWNER = 9999
TR = Texts("en")
ZONE = "Europe/Moscow"  # BOT_TIME_ZONE's default, which the tests' bot runs with
CARD_BUTTONS = (
    "card.get",
    "card.link",
    "card.add_page",
    "card.rename",
    "card.move",
    "card.valid_until",
    "card.delete",
    "card.back",
    "common.menu",
)


def _doc(
    app: BotUnderTest,
    name: str,
    type_title: str = "Receipts",
    owner: int = OWNER,
    content: bytes = b"",
    file_id: str | None = "tg-file",
    file_name: str | None = "r.pdf",
    mime: str = "application/pdf",
) -> StoredDoc:
    slug = type_title.lower()
    doc = StoredDoc(
        owner, str(uuid.uuid4()), slug, type_title, name, uuid.uuid4().hex * 2, len(content), mime, file_name, file_id
    )
    return app.api.add(doc, content)


def _open(doc: StoredDoc) -> DocCb:
    return DocCb(action=DocAction.open, doc=uuid.UUID(doc.document_id).hex)


def _act(doc: StoredDoc, action: DocAction) -> DocCb:
    return DocCb(action=action, doc=uuid.UUID(doc.document_id).hex)


def _deadline_text(app: BotUnderTest, doc: StoredDoc, language: Language) -> str:
    """Until when the fake API says the deleted ``doc`` can be restored, as the person reads it."""
    until = app.api.docs[doc.document_id].restorable_until
    assert until is not None
    return moment_text(language, until, ZONE)


def _buttons(app: BotUnderTest) -> list[str]:
    return [button.text for row in app.session.last_markup().inline_keyboard for button in row]


async def test_browse_lists_types_with_counts_when_documents_exist(app: BotUnderTest, ann: Person) -> None:
    for name in ("a", "b"):
        _doc(app, name)
    _doc(app, "p", type_title="Passport")
    _doc(app, "foreign", owner=OTHER_OWNER)
    await ann.says("/documents")
    assert ann.last_text() == TR("browse.types_title")
    assert _buttons(app)[:2] == ["Passport (1)", "Receipts (2)"]


async def test_browse_says_so_when_there_are_no_documents(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/documents")
    assert ann.last_text() == TR("browse.no_documents")


async def test_browse_pages_forward_and_back_when_a_type_has_many_documents(app: BotUnderTest, ann: Person) -> None:
    for index in range(7):
        _doc(app, f"receipt {index}")
    await ann.says("/documents")
    await ann.presses_button("Receipts")
    assert ann.last_text() == TR("browse.type_page", title="Receipts", page=1, pages=3)
    assert _buttons(app)[:4] == ["receipt 0", "receipt 1", "receipt 2", TR.plain("browse.next")]
    await ann.presses_button(TR.plain("browse.next"))
    await ann.presses_button(TR.plain("browse.next"))
    assert ann.last_text() == TR("browse.type_page", title="Receipts", page=3, pages=3)
    assert _buttons(app)[:2] == ["receipt 6", TR.plain("browse.prev")]
    await ann.presses_button(TR.plain("browse.prev"))
    assert ann.last_text() == TR("browse.type_page", title="Receipts", page=2, pages=3)


async def test_card_back_returns_to_the_page_it_was_opened_from_when_that_is_not_the_first(
    app: BotUnderTest, ann: Person
) -> None:
    for index in range(7):
        _doc(app, f"receipt {index}")
    await ann.says("/documents")
    await ann.presses_button("Receipts")
    await ann.presses_button(TR.plain("browse.next"))
    await ann.presses_button("receipt 4")
    assert ann.last_text().startswith("📄 <b>receipt 4</b>")
    await ann.presses_button(TR.plain("card.delete"))
    await ann.presses_button(TR.plain("delete.no"))  # the card again, still knowing where it came from
    await ann.presses_button(TR.plain("card.back"))
    assert ann.last_text() == TR("browse.type_page", title="Receipts", page=2, pages=3)
    assert _buttons(app)[:3] == ["receipt 3", "receipt 4", "receipt 5"]
    await ann.presses_button("receipt 3")
    await ann.presses_button(TR.plain("card.get"))  # the file comes with a way back to its card, and on to page 2
    await ann.presses_button(TR.plain("common.open"))
    await ann.presses_button(TR.plain("card.back"))
    assert ann.last_text() == TR("browse.type_page", title="Receipts", page=2, pages=3)


async def test_card_back_returns_to_the_first_page_when_opened_there_or_from_an_old_button(
    app: BotUnderTest, ann: Person
) -> None:
    doc = _doc(app, "receipt 0")
    _doc(app, "receipt 1")
    await ann.says("/documents")
    await ann.presses_button("Receipts")
    assert ann.last_text() == TR("browse.type_single", title="Receipts")  # one page: no "1 of 1"
    await ann.presses_button("receipt 0")
    await ann.presses_button(TR.plain("card.back"))
    assert ann.last_text() == TR("browse.type_single", title="Receipts")
    await ann.presses(f"d:o:{uuid.UUID(doc.document_id).hex}")  # a card button of the bot before origins
    await ann.presses_button(TR.plain("card.back"))
    assert ann.last_text() == TR("browse.type_single", title="Receipts")


async def test_browse_answers_outdated_when_a_page_token_is_unknown(app: BotUnderTest, ann: Person) -> None:
    await ann.presses(ListCb(token="nosuchtoken1"))
    assert ann.last_text() == TR("stale.button")


async def test_card_shows_file_name_format_size_and_local_date_when_opened(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Café <bill>", content=b"x" * 2048, file_name="bill <1>.pdf")
    await ann.presses(_open(doc))
    assert ann.last_text() == TR(
        "card.text",
        name="Café <bill>",
        type="Receipts",
        file="bill <1>.pdf",
        format="PDF",
        size="2 KB",
        date="1 Mar 2026, 15:00 MSK",
    )  # created 12:00 UTC
    assert _buttons(app) == [TR.plain(key) for key in CARD_BUTTONS]


async def test_card_alerts_and_leaks_nothing_when_the_document_is_someone_elses(app: BotUnderTest, ann: Person) -> None:
    secret = _doc(app, "Secret of another owner", owner=OTHER_OWNER)
    for action in DocAction:
        await ann.presses(_act(secret, action))
    assert set(ann.saw()) == {TR("card.gone")}
    assert not app.publisher.events
    assert all("Secret" not in str(request) for request in app.session.requests)


async def test_card_answers_outdated_when_callback_data_is_forged(app: BotUnderTest, ann: Person) -> None:
    for forged in ("d:o:not-a-uuid", "d:zz:" + "0" * 32, "garbage", "t:", "x" * 64):
        await ann.presses(forged)
    assert set(ann.saw()) <= {TR("card.gone"), TR("stale.button")}
    assert len(app.session.calls(AnswerCallbackQuery)) == 5


async def test_get_file_sends_by_file_id_when_telegram_knows_it(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Lease", content=b"lease bytes", file_id="known-id")
    await ann.presses(_act(doc, DocAction.get))
    [sent] = app.session.calls(SendDocument)
    assert sent.document == "known-id" and sent.caption == "Lease"


async def test_get_file_sends_a_photo_when_the_document_was_a_photo(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Selfie", file_id="photo-id", file_name=None, mime="image/jpeg")
    await ann.presses(_act(doc, DocAction.get))
    assert [call.photo for call in app.session.calls(SendPhoto)] == ["photo-id"]


async def test_get_file_uploads_bytes_from_the_api_when_telegram_refuses_the_id(app: BotUnderTest, ann: Person) -> None:
    content = bytes(range(256)) * 3
    doc = _doc(app, "Contract", content=content, file_id="other-bot-id", file_name="contract.pdf")
    app.session.fail_next(SendDocument, lambda m: TelegramBadRequest(m, "Bad Request: wrong file identifier"))
    await ann.presses(_act(doc, DocAction.get))
    assert app.session.uploaded == [("contract.pdf", content)]


async def test_rename_appends_the_event_when_a_new_name_is_free(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Old")
    await ann.presses(_act(doc, DocAction.rename))
    assert ann.last_text() == TR("rename.ask", name="Old")
    await ann.says("  New   name ")
    [renamed] = app.publisher.payloads()
    assert isinstance(renamed, DocumentRenamedV2) and renamed.document_id == uuid.UUID(doc.document_id)
    assert TEST_PEOPLE[OWNER].open("name", renamed.name) == "New name" and not renamed.plaintext
    assert ann.last_text() == TR("rename.done", name="New name")


async def test_rename_asks_again_when_the_name_is_taken_or_bad(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Old")
    _doc(app, "Taken")
    await ann.presses(_act(doc, DocAction.rename))
    await ann.says("taken")
    await ann.says(" \u200b ")
    assert ann.saw()[-2:] == [TR("rename.taken", name="taken"), TR("name.empty")]
    assert await ann.state() == RenameDocument.entering_name.state
    await ann.says("Old")
    assert ann.last_text() == TR("rename.same") and not app.publisher.events


async def test_delete_asks_confirmation_then_undo_restores_when_pressed(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Ticket")
    await ann.presses(_act(doc, DocAction.delete))
    assert ann.last_text() == TR("delete.confirm", name="Ticket") and not app.publisher.events
    await ann.presses_button(TR.plain("delete.yes"))
    assert ann.last_text() == TR("delete.done_until", name="Ticket", until=_deadline_text(app, doc, "en"))
    assert app.api.docs[doc.document_id].status == "deleted"
    await ann.presses_button(TR.plain("delete.undo"))
    assert ann.last_text() == TR("undo.done", name="Ticket")
    assert [type(p) for p in app.publisher.payloads()] == [DocumentDeleted, DocumentRestored]
    await ann.presses(_act(doc, DocAction.undo))  # a second tap restores nothing twice
    assert len(app.publisher.events) == 2


async def test_delete_alerts_when_the_document_is_already_deleted(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Ticket")
    await ann.presses(_act(doc, DocAction.confirm_delete))
    await ann.presses(_act(doc, DocAction.confirm_delete))
    assert ann.last_text() == TR("card.gone") and len(app.publisher.events) == 1


async def test_reads_wait_for_the_last_write_when_a_change_was_just_appended(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Ticket")
    await ann.presses(_act(doc, DocAction.confirm_delete))
    app.api.after_events.clear()
    await ann.says("/documents")
    assert app.api.after_events == [str(app.publisher.events[-1].event_id)]


async def test_link_sends_a_signed_url_when_links_are_enabled(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Visa")
    await ann.presses(_act(doc, DocAction.link))
    link = f"https://files.example/{doc.document_id}?sig=x"
    assert ann.last_text() == TR("card.link_text", expires="1 Mar 2026, 15:15 MSK", url=link)
    assert _buttons(app) == [TR.plain("common.open"), TR.plain("common.menu")]


async def test_browse_stores_a_token_when_a_slug_is_too_long_for_callback_data(app: BotUnderTest, ann: Person) -> None:
    long_title = "Документы " + "я" * 40
    doc = _doc(app, "Long one", type_title=long_title)
    doc.type_slug = "документы-" + "я" * 40
    await ann.says("/documents")
    [data] = [
        b.callback_data
        for row in app.session.last_markup().inline_keyboard
        for b in row
        if b.text.startswith("Документы")
    ]
    assert data is not None and data.startswith("t:")
    await ann.presses(data)
    assert ann.last_text() == f"<b>{long_title}</b>:"


async def test_card_shows_russian_dates_and_a_photo_without_file_name_when_the_person_speaks_russian(
    app: BotUnderTest,
) -> None:
    olga = app.person(language="ru")
    doc = _doc(app, "Паспорт", content=b"x" * 10, file_name=None, mime="image/jpeg")
    await olga.presses(_open(doc))
    assert olga.last_text() == Texts("ru")(
        "card.text",
        name="Паспорт",
        type="Receipts",
        file="фото",
        format="JPG",
        size="10 Б",
        date="01.03.2026, 15:00 МСК",
    )


async def test_card_shows_the_format_as_unknown_when_neither_name_nor_media_type_tells(
    app: BotUnderTest, ann: Person
) -> None:
    doc = _doc(app, "Blob", file_name="blob", mime="application/octet-stream")
    await ann.presses(_open(doc))
    assert ann.last_text() == TR(
        "card.text",
        name="Blob",
        type="Receipts",
        file="blob",
        format="unknown",
        size="0 B",
        date="1 Mar 2026, 15:00 MSK",
    )


async def test_delete_says_until_when_undo_works_in_russian_when_person_speaks_russian(app: BotUnderTest) -> None:
    olga = app.person(OWNER + 1, "ru")
    doc = _doc(app, "Билет", owner=OWNER + 1)
    await olga.presses(_act(doc, DocAction.confirm_delete))
    until = _deadline_text(app, doc, "ru")
    assert olga.last_text() == Texts("ru")("delete.done_until", name="Билет", until=until)
    assert until.endswith("МСК") and TR.plain("delete.undo") != Texts("ru").plain("delete.undo")


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_undo_says_no_longer_in_the_trash_and_appends_nothing_when_the_deadline_passed(
    app: BotUnderTest, language: Language
) -> None:
    person = app.person(OWNER + 2, language)
    doc = _doc(app, "Ticket", owner=OWNER + 2)
    app.api.docs[doc.document_id] = replace(doc, status="deleted", restorable_until=datetime.now(UTC) - timedelta(1))
    await person.presses(_act(doc, DocAction.undo))
    assert person.last_text() == Texts(language)("undo.expired") and not app.publisher.events
    assert _buttons(app) == [Texts(language).plain("common.menu")]


async def test_undo_alerts_no_longer_available_when_the_document_was_purged(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Ticket")
    del app.api.docs[doc.document_id]
    await ann.presses(_act(doc, DocAction.undo))
    assert ann.last_text() == TR("card.gone") and not app.publisher.events
