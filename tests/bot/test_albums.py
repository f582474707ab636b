"""Albums through the real dispatcher (Redis, the fakes outside): one document of several pages, pages added from the
card, Get file as albums, and hostile albums (too many, mixed, too big, repeated updates)."""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendDocument, SendMediaGroup, SendMessage
from aiogram.types import Video

from bot.dialogs.states import AddDocument
from bot.injected import Services
from bot.settings import BotConfig
from bot.ui.callbacks import DocAction, DocCb
from bot.ui.i18n import Texts
from contracts.events import MAX_ALBUM_PAGES, DocumentAddedV3, DocumentPageAdded
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.harness import Person
from tests.keyrings import TEST_PEOPLE

TR = Texts("en")
PAGES = [b"page one", b"page two", b"page three"]


@pytest.fixture
def config() -> BotConfig:
    return BotConfig(page_size=3, max_download_bytes=1000, links_enabled=True, album_window_seconds=0.05)


async def _album(app: BotUnderTest, person: Person, pages: list[bytes], group: str = "g1") -> list[str]:
    """Send ``pages`` as one album and wait until the bot took it; their Telegram file ids."""
    file_ids = [
        await person.sends_file(data, file_name=f"p{n}.pdf", media_group_id=group) for n, data in enumerate(pages, 1)
    ]
    services: Services = app.dispatcher["services"]
    await services.albums.idle()
    return file_ids


def _adds(app: BotUnderTest) -> list[DocumentAddedV3]:
    return [p for p in app.publisher.payloads() if isinstance(p, DocumentAddedV3)]


def _file_names(payload: DocumentAddedV3) -> list[str]:
    keys = TEST_PEOPLE[OWNER]
    return [keys.open("file_name", f.file_name or "") for f in (payload.file, *payload.more_pages)]


async def _start_adding(person: Person) -> None:
    await person.says("/add")
    await person.says("Contracts")
    await person.says("Lease")


async def test_album_part_saves_one_document_of_every_page_when_an_album_comes_at_the_file_step(
    app: BotUnderTest, ann: Person
) -> None:
    await _start_adding(ann)

    await _album(app, ann, PAGES)

    [added] = _adds(app)
    assert _file_names(added) == ["p1.pdf", "p2.pdf", "p3.pdf"]
    assert [data for _, data, _, _ in app.api.uploads] == PAGES and app.api.page_uploads == [False, True, True]
    assert ann.last_text() == TR("add.saved", name="Lease", type="Contracts")
    assert await ann.state() is None


async def test_album_part_asks_the_type_and_offers_the_caption_when_an_album_starts_the_dialog(
    app: BotUnderTest, ann: Person
) -> None:
    for n, data in enumerate(PAGES, 1):
        await ann.sends_file(data, file_name=f"p{n}.pdf", media_group_id="g2", caption="Lease 2026" if n == 2 else None)
    await app.dispatcher["services"].albums.idle()
    assert TR("album.received", count=3) in ann.last_text()
    await ann.says("Contracts")
    assert "Lease 2026" in str(app.session.last_markup())
    await ann.presses_button("Lease 2026")

    [added] = _adds(app)
    assert len(added.more_pages) == 2 and TEST_PEOPLE[OWNER].open("name", added.name) == "Lease 2026"


async def test_album_part_refuses_the_whole_album_when_it_holds_more_than_an_album_can(
    app: BotUnderTest, ann: Person
) -> None:
    await _start_adding(ann)

    await _album(app, ann, [f"page {n}".encode() for n in range(50)])

    assert ann.saw().count(TR("album.too_many", max=MAX_ALBUM_PAGES)) == 1
    assert not app.api.uploads and not _adds(app)
    assert await ann.state() == AddDocument.waiting_file.state


async def test_album_part_refuses_the_album_when_a_part_is_not_a_file_or_photo(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    await ann.sends_file(PAGES[0], media_group_id="mixed")
    await ann.send(video=Video(file_id="v", file_unique_id="v", width=1, height=1, duration=1), media_group_id="mixed")
    await app.dispatcher["services"].albums.idle()

    assert ann.last_text() == TR("album.not_files")
    assert not app.api.uploads and not _adds(app)


async def test_album_part_refuses_the_album_when_one_page_is_too_big(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    await ann.sends_file(PAGES[0], media_group_id="big")
    await ann.sends_file(b"x", size=10_000, media_group_id="big")
    await app.dispatcher["services"].albums.idle()

    assert ann.last_text() == TR("add.too_big", limit="1000 B")
    assert not app.api.uploads and not _adds(app)


async def test_album_part_keeps_a_page_once_when_its_update_is_delivered_again(app: BotUnderTest, ann: Person) -> None:
    await _start_adding(ann)
    await ann.sends_file(PAGES[0], file_name="p1.pdf", media_group_id="again")
    first_update = ann.last_update
    assert first_update is not None and first_update.message is not None
    await ann.sends_file(PAGES[1], file_name="p2.pdf", media_group_id="again")
    await ann.feed(message=first_update.message)  # the same message in a new update (a resend)
    await app.dispatcher["services"].albums.idle()

    [added] = _adds(app)
    assert _file_names(added) == ["p1.pdf", "p2.pdf"]


async def test_album_part_keeps_people_apart_when_two_send_albums_with_the_same_group_id(
    app: BotUnderTest, ann: Person
) -> None:
    bob = app.person(OWNER + 1)
    await _start_adding(ann)
    await _start_adding(bob)

    for data in PAGES[:2]:
        await ann.sends_file(data, media_group_id="same")
        await bob.sends_file(data + b" of bob", media_group_id="same")
    await app.dispatcher["services"].albums.idle()

    assert len(_adds(app)) == 2 and all(len(added.more_pages) == 1 for added in _adds(app))


async def _saved_album(app: BotUnderTest, ann: Person) -> tuple[str, list[str]]:
    await _start_adding(ann)
    file_ids = await _album(app, ann, PAGES)
    return _adds(app)[0].document_id.hex, file_ids


async def test_ask_page_adds_a_page_and_then_an_album_when_sent_from_the_card(app: BotUnderTest, ann: Person) -> None:
    document_id, _ = await _saved_album(app, ann)

    await ann.presses(DocCb(action=DocAction.add_page, doc=document_id))
    assert ann.last_text() == TR("pages.ask", name="Lease")
    await ann.sends_file(b"page four", file_name="p4.pdf")
    assert ann.last_text() == TR("pages.added", name="Lease", count=1)
    await ann.presses(DocCb(action=DocAction.add_page, doc=document_id))
    await _album(app, ann, [b"page five", b"page six"], group="later")

    added = [p for p in app.publisher.payloads() if isinstance(p, DocumentPageAdded)]
    assert [len(p.pages) for p in added] == [1, 2] and all(p.document_id.hex == document_id for p in added)
    assert app.api.page_uploads[-3:] == [True, True, True]
    await ann.presses(DocCb(action=DocAction.open, doc=document_id))
    assert TR("card.pages", count=6) in ann.last_text()


async def test_ask_page_shows_gone_when_the_button_names_another_persons_document(
    app: BotUnderTest, ann: Person
) -> None:
    document_id, _ = await _saved_album(app, ann)
    bob = app.person(OWNER + 1)

    await bob.presses(DocCb(action=DocAction.add_page, doc=document_id))

    assert await bob.state() is None and not [p for p in app.publisher.payloads() if isinstance(p, DocumentPageAdded)]


async def test_get_file_sends_the_pages_as_one_album_when_the_document_has_several(
    app: BotUnderTest, ann: Person
) -> None:
    document_id, file_ids = await _saved_album(app, ann)

    await ann.presses(DocCb(action=DocAction.get, doc=document_id))

    [group] = app.session.calls(SendMediaGroup)
    assert [item.media for item in group.media] == file_ids
    last = app.session.calls(SendMessage)[-1]
    assert last.text == TR("file.pages_sent", name="Lease")


async def test_get_file_uploads_the_pages_from_the_api_when_telegram_refuses_their_ids(
    app: BotUnderTest, ann: Person
) -> None:
    document_id, _ = await _saved_album(app, ann)
    app.session.fail_next(SendMediaGroup, lambda m: TelegramBadRequest(m, "wrong file identifier"))

    await ann.presses(DocCb(action=DocAction.get, doc=document_id))

    retried = app.session.calls(SendMediaGroup)[-1]
    assert [type(item.media).__name__ for item in retried.media] == ["StreamedFile"] * 3
    assert not app.session.calls(SendDocument)


async def test_album_part_names_the_kept_document_when_the_same_album_is_saved_again(
    app: BotUnderTest, ann: Person
) -> None:
    kept, _ = await _saved_album(app, ann)
    await ann.says("/add")
    await ann.says("Contracts")
    await ann.says("Lease copy")

    await _album(app, ann, PAGES, group="again")

    assert len(_adds(app)) == 2  # the processor decides an album's duplicate: the add is in the log
    assert ann.last_text() == TR("album.duplicate", name="Lease", type="Contracts")
    assert kept in str(app.session.last_markup())  # the way on opens the document already kept
    assert await ann.state() is None


async def test_album_part_says_saved_when_the_same_pages_come_in_another_order(app: BotUnderTest, ann: Person) -> None:
    await _saved_album(app, ann)
    await ann.says("/add")
    await ann.says("Contracts")
    await ann.says("Lease reversed")

    await _album(app, ann, PAGES[::-1], group="reversed")

    assert ann.last_text() == TR("add.saved", name="Lease reversed", type="Contracts")


def _told(app: BotUnderTest, person: Person) -> list[str]:
    return [m.text for m in app.session.calls(SendMessage) if m.chat_id == person.chat.id and m.text]


async def test_album_part_asks_to_send_again_when_the_person_already_has_albums_waiting_and_close_tells_them(
    app: BotUnderTest, ann: Person
) -> None:
    services: Services = app.dispatcher["services"]
    services.albums.window_seconds = 30.0  # the albums stay waiting until the test closes them
    bob = app.person(OWNER + 1)
    await _start_adding(ann)
    for group in ("first", "second"):
        await ann.sends_file(PAGES[0], media_group_id=group)
    assert TR("album.busy") not in _told(app, ann)

    await ann.sends_file(PAGES[1], media_group_id="third")
    await ann.sends_file(PAGES[2], media_group_id="third")  # a later part of the refused album: no second reply
    await bob.sends_file(PAGES[0], media_group_id="first")

    assert _told(app, ann).count(TR("album.busy")) == 1 and _told(app, ann)[-1] == TR("album.busy")
    assert TR("album.busy") not in _told(app, bob)  # the limit is each person's
    assert len(services.albums) == 3
    await services.albums.close()  # the bot stops: the waiting albums are dropped, their people told
    assert len(services.albums) == 0 and not app.api.uploads and not _adds(app)
    assert _told(app, ann)[-2:] == [TR("album.interrupted")] * 2 and _told(app, bob)[-1] == TR("album.interrupted")
    assert await ann.state() == AddDocument.waiting_file.state  # the album may be sent again at the same step
