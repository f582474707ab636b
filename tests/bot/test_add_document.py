"""The add dialog through the real dispatcher: type -> name -> file, file first, and every kind of bad input."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import GetFile
from aiogram.types import Location, Sticker, Voice

from bot.app import Dependencies, build_dispatcher, fsm_storage
from bot.dialogs.states import AddDocument
from bot.settings import BotConfig
from bot.ui.callbacks import DocAction, DocCb
from bot.ui.i18n import Texts
from contracts.api_schemas import StorageUsage
from contracts.events import DocumentAddedV2, StoredFile
from contracts.text import clean_file_name, type_slug
from service_kit.keyed import TYPE
from tests.bot.conftest import OWNER, BotUnderTest, StubbedBot
from tests.bot.fakes import StoredDoc, content_id_of
from tests.bot.harness import Person
from tests.keyrings import TEST_PEOPLE

PDF = b"%PDF-1.7 passport scan"
TR = Texts("en")


async def _start_adding(person: Person, type_title: str = "Passport", name: str = "Main passport") -> None:
    await person.says("/add")
    await person.says(type_title)
    await person.says(name)


@dataclass(frozen=True)
class Added:
    """A v2 ``document.added`` the bot appended, its texts opened with the person's test key."""

    document_id: uuid.UUID
    type_slug: str  # the plain slug of the title, once the event's keyed slug was checked to be that title's
    type_title: str
    name: str
    file: StoredFile


def _added(app: BotUnderTest) -> list[Added]:
    keys = TEST_PEOPLE[OWNER]
    added = []
    for payload in app.publisher.payloads():
        if isinstance(payload, DocumentAddedV2):
            title = keys.open("type_title", payload.type_title)
            assert payload.type_slug == keys.keyed(TYPE, type_slug(title)) and not payload.plaintext
            added.append(
                Added(payload.document_id, type_slug(title), title, keys.open("name", payload.name), payload.file)
            )
    return added


async def test_add_saves_after_the_append_when_type_name_and_file_are_given(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    assert ann.last_text() == TR("add.ask_file", name="Main passport")
    await ann.sends_file(PDF, file_name="scan.pdf")

    [added] = _added(app)  # the v2 event carries only what the API sealed under the person's key
    keys = TEST_PEOPLE[OWNER]
    assert (added.type_slug, added.type_title, added.name) == ("passport", "Passport", "Main passport")
    file = added.file
    assert (
        file.size == len(PDF) and file.telegram_file_id and keys.open("file_name", file.file_name or "") == "scan.pdf"
    )
    assert (file.sha256, file.content_id, file.encrypted) == (None, content_id_of(OWNER, PDF), True)
    assert app.api.uploads == [(OWNER, PDF, "application/pdf", "scan.pdf")]
    assert ann.last_text() == TR("add.saved", name="Main passport", type="Passport")
    assert await ann.state() is None


async def test_add_keeps_everything_and_offers_retry_when_the_stream_is_down(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    app.publisher.down = True
    await ann.sends_file(PDF)
    assert ann.last_text() == TR("add.save_failed") and not _added(app)
    assert await ann.state() == AddDocument.waiting_file.state

    app.publisher.down = False
    await ann.presses_button("Try again")
    assert [a.name for a in _added(app)] == ["Main passport"]
    assert ann.last_text().startswith("✅ Saved")


async def test_add_retries_with_the_same_event_and_document_ids_when_a_stored_append_lost_its_confirm(
    app: BotUnderTest, ann: Person
) -> None:
    await _start_adding(ann)
    app.publisher.loses_confirms = True
    await ann.sends_file(PDF)
    assert ann.last_text() == TR("add.save_failed")

    app.publisher.loses_confirms = False
    await ann.presses_button("Try again")
    first, retry = app.publisher.events
    assert (retry.event_id, _added(app)[1].document_id) == (first.event_id, _added(app)[0].document_id)
    assert len(app.api.docs) == 1 and ann.last_text() == TR("add.saved", name="Main passport", type="Passport")
    assert await ann.state() is None


async def test_add_saves_once_when_telegram_delivers_the_file_message_again(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    await ann.sends_file(PDF)
    replies = len(ann.saw())
    assert ann.last_update is not None

    await ann.delivers(ann.last_update)  # Telegram saw no answer in time and sends the update again

    assert len(_added(app)) == 1 and len(ann.saw()) == replies
    assert await ann.state() is None


async def test_add_keeps_the_step_when_telegram_delivers_an_answer_again(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/add")
    await ann.says("Passport")
    assert ann.last_update is not None and ann.last_text() == TR("add.ask_name", type="Passport")

    await ann.delivers(ann.last_update)  # handled again, "Passport" would become the document's name

    assert await ann.state() == AddDocument.entering_name.state
    await ann.says("Main passport")
    assert ann.last_text() == TR("add.ask_file", name="Main passport")


async def test_add_makes_new_ids_when_the_next_document_is_added(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    await ann.sends_file(PDF)
    await _start_adding(ann, name="Second")
    await ann.sends_file(PDF + b"2")

    first, second = app.publisher.events
    assert first.event_id != second.event_id and _added(app)[0].document_id != _added(app)[1].document_id


async def test_add_asks_questions_after_when_the_file_comes_first(app: BotUnderTest, ann: Person) -> None:
    await ann.sends_file(PDF, file_name="Insurance policy 2026.pdf")
    assert ann.last_text() == TR("add.file_received") + "\n" + TR("add.ask_type_first")
    await ann.says("Insurance")
    await ann.presses_button(TR.plain("add.use_suggestion", name="Insurance policy 2026"))
    [added] = _added(app)
    assert added.name == "Insurance policy 2026" and added.type_title == "Insurance"


async def test_add_offers_existing_types_when_the_person_has_some(app: BotUnderTest, ann: Person) -> None:
    app.api.add(
        StoredDoc(
            OWNER,
            "00000000-0000-0000-0000-000000000001",
            "tax-returns",
            "Tax returns",
            "2025",
            "a" * 64,
            1,
            "application/pdf",
            None,
            None,
        )
    )
    await ann.says("/add")
    await ann.presses_button("Tax returns")
    await ann.says("2026")
    await ann.sends_file(PDF)
    [added] = _added(app)
    assert (added.type_slug, added.type_title, added.name) == ("tax-returns", "Tax returns", "2026")


async def test_add_asks_another_name_when_the_name_is_taken_in_the_type(app: BotUnderTest, ann: Person) -> None:
    app.api.add(
        StoredDoc(
            OWNER,
            "00000000-0000-0000-0000-000000000001",
            "passport",
            "Passport",
            "Main passport",
            "a" * 64,
            1,
            "application/pdf",
            None,
            None,
        )
    )
    await _start_adding(ann, name="main  PASSPORT")
    assert ann.last_text() == TR("add.name_taken", name="main PASSPORT", type="Passport")
    assert await ann.state() == AddDocument.entering_name.state
    await ann.says("Old passport")
    assert await ann.state() == AddDocument.waiting_file.state


async def test_add_reports_the_existing_document_when_content_is_a_duplicate(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    await ann.sends_file(PDF)
    await _start_adding(ann, type_title="Copies", name="Same bytes")
    await ann.sends_file(PDF)
    assert ann.last_text() == TR("add.duplicate", name="Main passport", type="Passport")
    assert len(_added(app)) == 1 and await ann.state() is None


async def test_add_refuses_and_keeps_state_when_the_file_is_over_the_limit(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    await ann.sends_file(b"x", size=5000)
    assert "too big" in ann.last_text() and "1000 B" in ann.last_text()
    assert not app.session.calls(GetFile) and await ann.state() == AddDocument.waiting_file.state


async def test_add_refuses_and_keeps_state_when_telegram_says_file_is_too_big(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    app.session.fail_next(GetFile, lambda m: TelegramBadRequest(m, "Bad Request: file is too big"))
    await ann.sends_file(PDF, size=None)
    assert "too big" in ann.last_text() and not _added(app)
    assert await ann.state() == AddDocument.waiting_file.state
    await ann.sends_file(PDF)
    assert len(_added(app)) == 1


async def test_add_asks_for_a_file_when_text_or_sticker_comes_instead(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    await ann.says("here it is")
    assert ann.last_text() == TR("add.not_a_file")
    await ann.send(
        sticker=Sticker(
            file_id="s", file_unique_id="s", type="regular", width=1, height=1, is_animated=False, is_video=False
        )
    )
    await ann.send(voice=Voice(file_id="v", file_unique_id="v", duration=1))
    await ann.send(location=Location(latitude=1.0, longitude=2.0))
    assert ann.saw()[-3:] == [ann.saw()[-1]] * 3
    assert await ann.state() == AddDocument.waiting_file.state


async def test_add_explains_and_keeps_the_step_when_a_name_is_bad(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/add")
    await ann.says("Passport")
    await ann.says("\u0000\u200b\t")
    await ann.says("n" * 200)
    assert ann.saw()[-2:] == [TR("name.empty"), TR("name.too_long", max=128)]
    assert await ann.state() == AddDocument.entering_name.state
    await ann.says("x\u0007y")
    assert ann.last_text() == TR("add.ask_file", name="x y")


async def test_add_explains_when_a_type_is_too_long(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/add")
    await ann.says("t" * 65)
    assert ann.last_text() == TR("type.too_long", max=64)
    assert await ann.state() == AddDocument.choosing_type.state


async def test_add_escapes_html_when_a_name_contains_markup(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann, name="<script>alert(1)</script> & co")
    await ann.sends_file(PDF)
    assert _added(app)[0].name == "<script>alert(1)</script> & co"
    assert ann.last_text() == "✅ Saved “&lt;script&gt;alert(1)&lt;/script&gt; &amp; co” under “Passport”."


async def test_add_stores_a_photo_as_jpeg_when_a_photo_is_sent(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    await ann.sends_photo(b"\xff\xd8jpeg")
    [added] = _added(app)
    assert added.file.mime_type == "image/jpeg" and added.file.file_name is None


async def test_add_offers_a_photos_caption_as_its_name_and_hints_at_quality_when_the_photo_comes_first(
    app: BotUnderTest, ann: Person
) -> None:
    await ann.sends_photo(b"\xff\xd8jpeg", caption="  Passport  p.1 ")
    assert ann.last_text().startswith(TR("add.file_received") + "\n" + TR("add.photo_hint") + "\n")
    await ann.says("Passport")
    await ann.presses_button(TR.plain("add.use_suggestion", name="Passport p.1"))
    [added] = _added(app)
    assert added.name == "Passport p.1"
    assert ann.last_text() == TR("add.saved", name="Passport p.1", type="Passport")  # the hint came once, up front


async def test_add_hints_at_quality_once_saved_when_the_photo_comes_last(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    await ann.sends_photo(b"\xff\xd8jpeg")
    assert ann.last_text() == TR("add.saved", name="Main passport", type="Passport") + "\n" + TR("add.photo_hint")


async def test_add_prefers_the_caption_to_the_file_name_when_a_file_has_both(app: BotUnderTest, ann: Person) -> None:
    await ann.sends_file(PDF, file_name="scan_0001.pdf", caption="Lease 2026")
    assert TR("add.photo_hint") not in ann.last_text()  # a file keeps its quality
    await ann.says("Leases")
    assert TR.plain("add.use_suggestion", name="Lease 2026") in str(app.session.last_markup())


async def test_add_suggests_nothing_when_a_forwarded_file_has_no_name(app: BotUnderTest, ann: Person) -> None:
    await ann.sends_file(PDF, file_name=None, mime=None)
    await ann.says("Receipts")
    assert "Use “" not in str(app.session.last_markup())
    await ann.says("Coffee")
    [added] = _added(app)
    assert added.file.mime_type == "application/octet-stream" and added.file.file_name is None


async def test_add_keeps_a_file_sent_while_naming_when_the_name_comes_later(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/add")
    await ann.says("Passport")
    await ann.sends_file(PDF, file_name="new.pdf")
    assert ann.last_text() == TR("add.file_received") + "\n" + TR("add.ask_name", type="Passport")
    await ann.says("Renewed")
    assert [a.name for a in _added(app)] == ["Renewed"]


async def test_add_keeps_the_step_when_the_api_is_down(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/add")
    await ann.says("Passport")
    app.api.down = True
    await ann.says("Main")
    assert ann.last_text() == TR("error.api_down")
    assert await ann.state() == AddDocument.entering_name.state
    assert [b.text for row in app.session.last_markup().inline_keyboard for b in row] == [TR.plain("common.cancel")]
    app.api.down = False
    await ann.says("Main")
    assert await ann.state() == AddDocument.waiting_file.state


async def test_cancel_leaves_the_dialog_when_pressed_mid_way(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    await ann.presses_button("Cancel")
    assert ann.last_text() == TR("common.cancelled")
    assert await ann.state() is None
    await ann.sends_file(PDF)  # now a file starts a new dialog instead of finishing the old one
    assert not _added(app)


async def test_dialog_survives_a_restart_when_the_state_lives_in_redis(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    deps = Dependencies(app.api, app.publisher, app.store, BotConfig(max_download_bytes=1000), 1000)
    restarted = build_dispatcher(fsm_storage(app.redis, app.store, app.prefix, 600), deps)  # a new process, same Redis
    same_person = Person(restarted, app.bot, app.session, ann.user.id)
    await same_person.sends_file(PDF)
    assert [a.name for a in _added(app)] == ["Main passport"]


async def _add_through_the_stub(stubbed: StubbedBot, file_name: str | None = "scan.pdf") -> None:
    ann = stubbed.person
    await ann.says("/add")
    await ann.presses_button("Type 0")
    await ann.says("Lease")
    await ann.sends_file(PDF, file_name=file_name)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (
            StorageUsage(documents=100, documents_limit=100, bytes=5 * 1024**2, bytes_limit=1024**3),
            TR("quota.documents", name="Lease", documents=100, documents_limit=100, used="5 MB", limit="1 GB"),
        ),
        (
            StorageUsage(documents=12, documents_limit=100, bytes=1023 * 1024**2, bytes_limit=1024**3),
            TR("quota.bytes", name="Lease", documents=12, documents_limit=100, used="1023 MB", limit="1 GB"),
        ),
    ],
    ids=["documents", "bytes"],
)
async def test_add_tells_the_usage_and_a_way_on_when_the_api_refuses_past_the_quota(
    stubbed: StubbedBot, usage: StorageUsage, expected: str
) -> None:
    stubbed.stub.quota = usage
    await _add_through_the_stub(stubbed)

    assert stubbed.person.last_text() == expected
    buttons = [b.text for row in stubbed.session.last_markup().inline_keyboard for b in row]
    assert buttons == [TR.plain("menu.browse"), TR.plain("common.menu")]
    assert not stubbed.publisher.events and await stubbed.person.state() is None


HOSTILE_NAME = "..\\..\\secrets/\u202eexe.pdf\u200b\r\nBcc: x"


async def test_add_records_the_name_the_api_cleaned_when_telegram_gives_a_hostile_file_name(
    stubbed: StubbedBot,
) -> None:
    await _add_through_the_stub(stubbed, file_name=HOSTILE_NAME)

    [event] = stubbed.publisher.events
    assert isinstance(event.payload, DocumentAddedV2)
    sealed_name = event.payload.file.file_name or ""
    assert TEST_PEOPLE[OWNER].open("file_name", sealed_name) == clean_file_name(HOSTILE_NAME) == "exe.pdf Bcc: x"
    upload = [r for r in stubbed.stub.requests if r.method == "POST" and r.path.endswith("/files")][-1]
    assert upload.headers["X-File-Name"] == quote(HOSTILE_NAME, safe="")  # the raw name goes to the API only


async def test_add_saves_without_a_file_name_when_nothing_is_left_of_it_once_cleaned(stubbed: StubbedBot) -> None:
    await _add_through_the_stub(stubbed, file_name="\u202e\u200b\r\n")

    [event] = stubbed.publisher.events
    assert isinstance(event.payload, DocumentAddedV2) and event.payload.file.file_name is None
    assert stubbed.person.last_text() == TR("add.saved", name="Lease", type="Type 0")
    assert len(stubbed.stub.bodies) == 2 and stubbed.stub.bodies[1] == PDF


@pytest.mark.parametrize("config", [BotConfig(max_download_bytes=1000, event_budget_per_hour=1)])
async def test_add_keeps_the_dialog_and_says_when_to_retry_when_the_hourly_budget_is_spent(
    app: BotUnderTest, ann: Person
) -> None:
    await ann.presses(DocCb(action=DocAction.confirm_delete, doc=uuid.UUID(_stored(app).document_id).hex))
    await _start_adding(ann)
    await ann.sends_file(PDF)

    assert ann.last_text().startswith(TR("budget.spent", minutes="|").partition("|")[0])
    assert "Try again" in str(app.session.last_markup())
    assert not _added(app) and await ann.state() == AddDocument.waiting_file.state


def _stored(app: BotUnderTest) -> StoredDoc:
    return app.api.add(
        StoredDoc(OWNER, str(uuid.uuid4()), "receipts", "Receipts", "Old", "b" * 64, 1, "application/pdf", None, None)
    )
