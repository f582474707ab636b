"""/export and the menu's Export button through the real dispatcher: the archive as a document, a link when too
large, an empty vault, links off, an export already under way, the API down, a repeated /export, a doubled press."""

from __future__ import annotations

import uuid

import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument

from bot.settings import BotConfig
from bot.ui.callbacks import MenuAction, MenuCb
from bot.ui.i18n import Texts
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.fakes import StoredDoc
from tests.bot.harness import Person

TR = Texts("en")
OTHER_OWNER = 9999
LIMIT = 1000


@pytest.fixture
def config(request: pytest.FixtureRequest) -> BotConfig:
    """Links on unless a test passes ``False`` (``indirect``)."""
    links = getattr(request, "param", True)
    return BotConfig(page_size=3, max_download_bytes=1000, links_enabled=links, export_upload_limit_bytes=LIMIT)


def _doc(app: BotUnderTest, name: str, content: bytes, owner: int = OWNER) -> StoredDoc:
    doc = StoredDoc(
        owner,
        str(uuid.uuid4()),
        "receipts",
        "Receipts",
        name,
        uuid.uuid4().hex * 2,
        len(content),
        "application/pdf",
        None,
        None,
    )
    return app.api.add(doc, content)


def _buttons(app: BotUnderTest) -> list[str]:
    return [button.text for row in app.session.last_markup().inline_keyboard for button in row]


async def test_export_sends_the_archive_as_a_document_with_the_menu_when_it_fits_the_upload_limit(
    app: BotUnderTest, ann: Person
) -> None:
    _doc(app, "Lease", b"%PDF lease")
    _doc(app, "Receipt", b"%PDF receipt")
    _doc(app, "Theirs", b"%PDF theirs", owner=OTHER_OWNER)

    await ann.says("/export")

    assert TR("export.preparing", n=2) in ann.saw()
    [sent] = app.session.calls(SendDocument)
    assert sent.caption == TR("export.caption", n=2)
    [(file_name, data)] = app.session.uploaded
    assert file_name.startswith("docvault-") and file_name.endswith(".zip")
    assert data.startswith(b"FAKE-ZIP:") and b"%PDF lease" in data and b"theirs" not in data
    assert TR.plain("menu.browse") in _buttons(app)


async def test_export_sends_a_download_link_when_the_archive_is_larger_than_the_upload_limit(
    app: BotUnderTest, ann: Person
) -> None:
    _doc(app, "Archive", b"x" * LIMIT)  # with the archive's overhead it is past the limit

    await ann.says("/export")

    assert app.session.calls(SendDocument) == []
    assert f"https://files.example/export/{OWNER}.x" in ann.last_text()
    assert ann.last_text().startswith("Your archive (")
    assert TR.plain("menu.browse") in _buttons(app)


@pytest.mark.parametrize("config", [False], indirect=True, ids=["links off"])
async def test_export_says_why_not_when_the_archive_is_too_large_and_links_are_off(
    app: BotUnderTest, ann: Person
) -> None:
    _doc(app, "Archive", b"x" * LIMIT)

    await ann.says("/export")

    assert app.session.calls(SendDocument) == [] and "files.example" not in ann.last_text()
    assert ann.last_text() == TR("export.too_large", size="1.1 KB", limit="1000 B")


async def test_export_says_there_is_nothing_to_export_when_the_person_has_no_live_document(
    app: BotUnderTest, ann: Person
) -> None:
    _doc(app, "Theirs", b"%PDF theirs", owner=OTHER_OWNER)

    await ann.says("/export")

    assert ann.last_text() == TR("export.empty")
    assert app.session.calls(SendDocument) == [] and app.session.uploaded == []


async def test_export_asks_to_wait_a_minute_when_an_export_of_the_person_is_under_way(
    app: BotUnderTest, ann: Person
) -> None:
    _doc(app, "Lease", b"%PDF lease")
    app.api.export_limited = True

    await ann.says("/export")

    assert ann.last_text() == TR("export.limited")
    assert app.session.calls(SendDocument) == []


async def test_export_answers_politely_with_a_way_on_when_the_api_is_down(app: BotUnderTest, ann: Person) -> None:
    app.api.down = True

    await ann.says("/export")

    assert ann.last_text() == TR("error.api_down")


async def test_export_sends_an_archive_each_time_when_repeated(app: BotUnderTest, ann: Person) -> None:
    _doc(app, "Lease", b"%PDF lease")

    await ann.says("/export")
    await ann.says("/export extra words")

    assert len(app.session.calls(SendDocument)) == 2


async def test_export_button_sends_the_archive_with_the_menu_when_pressed_in_the_menu(
    app: BotUnderTest, ann: Person
) -> None:
    _doc(app, "Lease", b"%PDF lease")
    await ann.says("/start")

    await ann.presses_button(TR.plain("menu.export"))

    [sent] = app.session.calls(SendDocument)
    assert sent.chat_id == OWNER and sent.caption == TR("export.caption", n=1)
    assert b"%PDF lease" in app.session.uploaded[0][1]
    [answered] = app.session.calls(AnswerCallbackQuery)
    assert answered.text is None and not answered.show_alert  # the spinner stopped before the archive
    assert app.session.requests.index(answered) < app.session.requests.index(sent)
    assert TR("export.preparing", n=1) in ann.saw() and TR.plain("menu.export") in _buttons(app)


@pytest.mark.parametrize("config", [False], indirect=True, ids=["links off"])
async def test_export_button_says_why_not_with_the_menu_when_the_vault_is_empty_or_too_large(
    app: BotUnderTest, ann: Person
) -> None:
    await ann.presses(MenuCb(action=MenuAction.export))
    empty = ann.last_text()
    _doc(app, "Archive", b"x" * LIMIT)
    await ann.presses(MenuCb(action=MenuAction.export))

    assert (empty, ann.last_text()) == (TR("export.empty"), TR("export.too_large", size="1.1 KB", limit="1000 B"))
    assert app.session.calls(SendDocument) == [] and TR.plain("menu.export") in _buttons(app)


async def test_export_button_alerts_with_the_reason_when_the_api_is_down(app: BotUnderTest, ann: Person) -> None:
    app.api.down = True

    await ann.presses(MenuCb(action=MenuAction.export))

    [answered] = app.session.calls(AnswerCallbackQuery)
    assert (answered.text, answered.show_alert) == (TR.plain("error.api_down"), True)


async def test_export_button_sends_one_archive_and_asks_to_wait_when_pressed_again_while_limited(
    app: BotUnderTest, ann: Person
) -> None:
    _doc(app, "Lease", b"%PDF lease")
    await ann.presses(MenuCb(action=MenuAction.export))
    app.api.export_limited = True

    await ann.presses(MenuCb(action=MenuAction.export))

    assert len(app.session.calls(SendDocument)) == 1
    assert ann.last_text() == TR("export.limited") and TR.plain("menu.export") in _buttons(app)
