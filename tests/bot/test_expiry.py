"""Valid-until dates through the real dispatcher: set from the card, typed in any of the forms people write,
refused when not a date, removed, offered after a save, listed in "Expiring soon"; forged and stale buttons."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from bot.services.expiry import local_day
from bot.ui.callbacks import DocAction, DocCb, MenuAction, MenuCb
from bot.ui.dates import day_text
from bot.ui.i18n import Texts
from contracts.events import DocumentValidUntilSet
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.fakes import StoredDoc
from tests.bot.harness import Person

TR, RU = Texts("en"), Texts("ru")
OTHER_OWNER = 7002


def _doc(app: BotUnderTest, name: str, owner: int = OWNER, valid_until: date | None = None) -> StoredDoc:
    doc = StoredDoc(
        owner,
        str(uuid.uuid4()),
        "passport",
        "Passport",
        name,
        uuid.uuid4().hex * 2,
        10,
        "application/pdf",
        "p.pdf",
        "tg-file",
        valid_until=valid_until,
    )
    return app.api.add(doc)


def _act(doc: StoredDoc, action: DocAction) -> DocCb:
    return DocCb(action=action, doc=uuid.UUID(doc.document_id).hex)


def _dates_set(app: BotUnderTest) -> list[tuple[str, date | None]]:
    return [
        (str(p.document_id), p.valid_until) for p in app.publisher.payloads() if isinstance(p, DocumentValidUntilSet)
    ]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("01.03.2031", date(2031, 3, 1)), ("March 2031", date(2031, 3, 31)), ("2031-03-01", date(2031, 3, 1))],
)
async def test_valid_until_records_the_date_when_typed_after_the_card_button(
    app: BotUnderTest, ann: Person, typed: str, expected: date
) -> None:
    doc = _doc(app, "Passport RF")
    await ann.presses(_act(doc, DocAction.valid_until))
    assert ann.last_text() == TR("expiry.ask", name="Passport RF")

    await ann.says(typed)

    assert _dates_set(app) == [(doc.document_id, expected)]
    assert ann.last_text() == TR("expiry.set", name="Passport RF", date=f"{expected.day} {expected:%b} {expected.year}")
    assert await ann.state() is None


async def test_valid_until_asks_again_when_the_text_is_not_a_date(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Visa")
    await ann.presses(_act(doc, DocAction.valid_until))

    for hostile in ("01.03.31", "30.02.2031", "next spring", "<b>2031</b>", "9" * 5000):
        await ann.says(hostile)
        assert ann.last_text() == TR("expiry.not_a_date")

    assert _dates_set(app) == []
    assert await ann.state() is not None  # still on the step; Cancel is the way out


async def test_valid_until_says_it_passed_when_the_date_is_in_the_past(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Old passport")
    await ann.presses(_act(doc, DocAction.valid_until))

    await ann.says("01.01.2001")

    assert _dates_set(app) == [(doc.document_id, date(2001, 1, 1))]
    assert ann.last_text() == TR("expiry.set_past", name="Old passport", date="1 Jan 2001")


async def test_valid_until_shows_the_current_date_and_removes_it_when_asked(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Policy", valid_until=date(2031, 3, 1))
    await ann.presses(_act(doc, DocAction.valid_until))
    assert ann.last_text() == TR("expiry.ask_current", name="Policy", date="1 Mar 2031")

    await ann.presses_button(TR.plain("expiry.remove"))

    assert _dates_set(app) == [(doc.document_id, None)]
    assert ann.last_text() == TR("expiry.removed", name="Policy")
    assert await ann.state() is None


async def test_valid_until_appends_nothing_when_remove_is_pressed_twice(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Policy", valid_until=date(2031, 3, 1))

    await ann.presses(_act(doc, DocAction.clear_valid_until))
    await ann.presses(_act(doc, DocAction.clear_valid_until))

    assert _dates_set(app) == [(doc.document_id, None)]


@pytest.mark.parametrize("action", [DocAction.valid_until, DocAction.clear_valid_until])
async def test_valid_until_refuses_when_the_button_names_another_owners_document(
    app: BotUnderTest, ann: Person, action: DocAction
) -> None:
    theirs = _doc(app, "Theirs", owner=OTHER_OWNER, valid_until=date(2031, 3, 1))

    await ann.presses(_act(theirs, action))

    assert _dates_set(app) == []
    assert "Theirs" not in " ".join(app.session.texts())


async def test_valid_until_is_outdated_when_the_button_is_forged(app: BotUnderTest, ann: Person) -> None:
    await ann.presses("d:t:not-a-document-ref:")

    assert _dates_set(app) == []
    assert await ann.state() is None


async def test_card_shows_the_valid_until_date_when_the_document_has_one(app: BotUnderTest) -> None:
    ru = app.person(language="ru")
    doc = _doc(app, "Паспорт", valid_until=date(2031, 3, 1))

    await ru.presses(_act(doc, DocAction.open))

    assert RU("card.valid_until_line", date="01.03.2031") in ru.last_text()


async def test_card_says_expired_when_the_date_has_passed(app: BotUnderTest, ann: Person) -> None:
    doc = _doc(app, "Old", valid_until=date(2001, 1, 1))

    await ann.presses(_act(doc, DocAction.open))

    assert TR("card.valid_until_past", date="1 Jan 2001") in ann.last_text()


async def test_expiring_lists_documents_in_the_window_soonest_first_when_opened_from_the_menu(
    app: BotUnderTest, ann: Person
) -> None:
    today = local_day(app.dispatcher["services"].config.time_zone)
    _doc(app, "Later", valid_until=today + timedelta(days=20))
    _doc(app, "Sooner", valid_until=today + timedelta(days=2))
    _doc(app, "Far", valid_until=today + timedelta(days=400))
    _doc(app, "Theirs", owner=OTHER_OWNER, valid_until=today + timedelta(days=1))

    await ann.presses(MenuCb(action=MenuAction.expiring))

    labels = [b.text for row in app.session.last_markup().inline_keyboard for b in row]
    assert ann.last_text() == TR("expiry.title", days=30, today=day_text("en", today))
    assert [label.split(" · ")[1] for label in labels[:-1]] == ["Sooner", "Later"]
    assert labels[-1] == TR.plain("common.menu")


async def test_expiring_says_nothing_expires_when_no_document_is_dated(app: BotUnderTest, ann: Person) -> None:
    _doc(app, "Undated")

    await ann.presses(MenuCb(action=MenuAction.expiring))

    assert ann.last_text() == TR("expiry.nothing", days=30)


async def test_add_offers_a_valid_until_date_when_the_document_is_saved(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/add")
    await ann.says("Passport")
    await ann.says("Main passport")
    await ann.sends_file(b"%PDF-1.4 main", file_name="scan.pdf")

    await ann.presses_button(TR.plain("expiry.add"))
    await ann.says("01.03.2031")

    [(document_id, day)] = _dates_set(app)
    assert day == date(2031, 3, 1) and app.api.docs[document_id].name == "Main passport"
