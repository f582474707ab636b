"""/start and the menu, help, cancel, language switching, search, and input that fits nowhere."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import Contact

from bot.clients.person_store import search_token
from bot.handlers import all_routers
from bot.ui.callbacks import LangCb, MenuAction, MenuCb, SearchCb
from bot.ui.commands import COMMANDS
from bot.ui.i18n import Texts
from contracts.events import UserLanguageChanged, UserStarted
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.fakes import StoredDoc
from tests.bot.harness import Person

TR, RU = Texts("en"), Texts("ru")


async def test_start_greets_and_records_the_user_when_sent(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/start")
    assert ann.last_text().startswith("Hi, Ann!")
    assert app.publisher.payloads() == [UserStarted(language="en")]
    assert "Add document" in str(app.session.last_markup())


async def test_start_appends_nothing_when_the_person_is_already_known(app: BotUnderTest, ann: Person) -> None:
    for _ in range(3):
        await ann.says("/start")
    assert app.publisher.payloads() == [UserStarted(language="en")]
    assert ann.saw() == [ann.saw()[0]] * 3  # greeted each time


async def test_start_still_greets_when_the_stream_is_down(app: BotUnderTest, ann: Person) -> None:
    app.publisher.down = True
    await ann.says("/start")
    assert ann.last_text().startswith("Hi, Ann!")
    app.publisher.down = False
    await ann.says("/start")  # not known yet: nothing was confirmed the first time
    assert app.publisher.payloads() == [UserStarted(language="en")]


async def test_start_speaks_russian_when_telegram_is_in_russian(app: BotUnderTest) -> None:
    ivan = app.person(user_id=OWNER + 1, language="ru")
    await ivan.says("/start")
    assert ivan.last_text().startswith("Привет, Ann!")


async def test_help_explains_and_lists_every_command_when_asked(app: BotUnderTest, ann: Person) -> None:
    await ann.presses(MenuCb(action=MenuAction.help))
    assert ann.last_text().startswith("<b>How it works</b>")
    assert all(f"/{name}" in ann.last_text() for name in COMMANDS)
    await ann.says("/help")
    assert ann.last_text() == TR("help.text")


def test_commands_name_every_command_a_router_handles_when_the_routers_are_built() -> None:
    handled = {
        command
        for router in all_routers()
        for handler in router.message.handlers
        for flt in handler.filters or []
        if isinstance(flt.callback, Command)
        for command in flt.callback.commands
        if isinstance(command, str)
    }
    assert handled | {"start"} == set(COMMANDS)  # /start is CommandStart, a Command with its own filter


async def test_language_picker_marks_the_current_language_and_offers_the_menu_when_opened(
    app: BotUnderTest, ann: Person
) -> None:
    await ann.says("/language")
    assert [[b.text for b in row] for row in app.session.last_markup().inline_keyboard] == [
        ["✓ English", "Русский"],
        [TR.plain("common.menu")],
    ]
    await ann.presses(LangCb(code="ru"))
    await ann.presses(MenuCb(action=MenuAction.language))
    assert [b.text for b in app.session.last_markup().inline_keyboard[0]] == ["English", "✓ Русский"]


async def test_cancel_shows_the_menu_when_no_dialog_is_open(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/cancel")
    assert ann.last_text() == "What would you like to do?"


async def test_language_switch_changes_texts_and_appends_when_chosen(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/language")
    await ann.presses(LangCb(code="ru"))
    assert ann.last_text() == RU("lang.set")
    assert app.publisher.payloads() == [UserLanguageChanged(language="ru")]
    await ann.says("/menu")
    assert ann.last_text() == RU("menu.title")


async def test_language_appends_nothing_when_the_chosen_language_is_chosen_again(
    app: BotUnderTest, ann: Person
) -> None:
    for code in ("ru", "ru", "en", "en"):
        await ann.presses(LangCb(code=code))
    assert app.publisher.payloads() == [UserLanguageChanged(language="ru"), UserLanguageChanged(language="en")]
    assert ann.last_text() == TR("lang.set")


async def test_language_answers_outdated_when_the_code_is_unknown(app: BotUnderTest, ann: Person) -> None:
    await ann.presses(LangCb(code="de"))
    assert ann.last_text() == TR("stale.button") and not app.publisher.events


def _add(app: BotUnderTest, name: str) -> None:
    app.api.add(
        StoredDoc(
            OWNER,
            f"00000000-0000-0000-0000-{len(app.api.docs):012d}",
            "t",
            "Things",
            name,
            f"{len(app.api.docs):064d}",
            1,
            "application/pdf",
            None,
            None,
        )
    )


async def test_search_shows_results_as_buttons_when_names_match(app: BotUnderTest, ann: Person) -> None:
    _add(app, "Passport scan")
    _add(app, "Visa")
    await ann.presses(MenuCb(action=MenuAction.search))
    await ann.says("pass")
    assert ann.last_text() == TR("search.results", query="pass")
    assert app.session.last_markup().inline_keyboard[0][0].text == "Passport scan · Things"


def _buttons(app: BotUnderTest) -> list[str]:
    return [button.text for row in app.session.last_markup().inline_keyboard for button in row]


async def test_search_pages_through_results_and_back_from_a_card_returns_to_that_page_when_many_match(
    app: BotUnderTest, ann: Person
) -> None:
    for index in range(7):  # page size 3: three pages
        _add(app, f"Tax {index}")
    await ann.says("/search tax")
    assert ann.last_text() == TR("search.results_page", query="tax", page=1, pages=3)
    assert _buttons(app) == ["Tax 0 · Things", "Tax 1 · Things", "Tax 2 · Things"] + [
        TR.plain(key) for key in ("browse.next", "search.again", "common.menu")
    ]
    await ann.presses_button(TR.plain("browse.next"))
    assert ann.last_text() == TR("search.results_page", query="tax", page=2, pages=3)
    await ann.presses_button("Tax 4")
    assert ann.last_text().startswith("📄 <b>Tax 4</b>")
    await ann.presses_button(TR.plain("card.rename"))
    await ann.says("Tax four")
    await ann.presses_button(TR.plain("common.open"))  # the renamed card still knows where it was opened from
    await ann.presses_button(TR.plain("card.back"))
    assert ann.last_text() == TR("search.results_page", query="tax", page=2, pages=3)
    assert _buttons(app)[:3] == ["Tax 3 · Things", "Tax 5 · Things", "Tax 6 · Things"]
    await ann.presses_button(TR.plain("browse.prev"))
    assert ann.last_text() == TR("search.results_page", query="tax", page=1, pages=3)


async def test_search_page_answers_outdated_when_its_query_is_forgotten(app: BotUnderTest, ann: Person) -> None:
    _add(app, "Tax 1")
    await ann.says("/search tax")
    token = search_token(OWNER, "tax")
    await app.redis.delete(f"{app.prefix}:search:{OWNER}:{token}")
    await ann.presses(SearchCb(token=token, page=1))
    assert ann.last_text() == TR.plain("stale.button")


async def test_a_word_typed_at_the_menu_is_searched_for_when_no_dialog_is_open(app: BotUnderTest, ann: Person) -> None:
    _add(app, "Passport scan")
    await ann.says("passport")
    assert ann.last_text() == TR("search.results", query="passport")
    assert _buttons(app)[0] == "Passport scan · Things"
    await ann.says("visa")
    assert ann.last_text() == TR("search.nothing_at_menu", query="visa")
    assert "Add document" in str(app.session.last_markup())


async def test_search_says_nothing_found_when_no_name_matches(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/search <zzz>")
    assert ann.last_text() == "Nothing found for “&lt;zzz&gt;”."


async def test_search_asks_again_when_the_query_is_blank(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/search")
    await ann.says("   \u3000 ")
    assert ann.last_text() == TR("search.empty_query")


async def test_unknown_text_shows_the_menu_when_it_is_no_word(app: BotUnderTest, ann: Person) -> None:
    for text in ("/frobnicate", "👍", "?!"):
        await ann.says(text)
        assert ann.last_text() == TR("input.unknown")
        assert "Add document" in str(app.session.last_markup())
    assert not app.api.after_events  # nothing was searched for


async def test_unsupported_content_is_explained_when_no_dialog_is_open(app: BotUnderTest, ann: Person) -> None:
    await ann.send(contact=Contact(phone_number="+1", first_name="Bo"))
    assert ann.last_text() == TR("input.unsupported")


async def test_edited_message_is_explained_when_a_person_edits(app: BotUnderTest, ann: Person) -> None:
    await ann.feed(edited_message=ann._message(text="edited", edit_date=1))
    assert ann.last_text() == TR("input.edited")
