"""Failures around the handlers: Telegram 429 and "not modified", flood control, API down, metrics."""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from prometheus_client import REGISTRY

from bot.ui.callbacks import MenuAction, MenuCb
from bot.ui.i18n import Texts
from tests.bot.conftest import BotUnderTest
from tests.bot.harness import Person


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_telegram_call_waits_retry_after_and_retries_when_rate_limited(app: BotUnderTest, ann: Person) -> None:
    app.session.fail_next(SendMessage, lambda m: TelegramRetryAfter(m, "Too Many Requests: retry after 3", 3))
    await ann.says("/menu")
    assert app.session.waits == [3]
    assert len(app.session.calls(SendMessage)) == 2 and ann.last_text() == "What would you like to do?"


async def test_telegram_call_gives_up_when_retry_after_is_too_long(app: BotUnderTest, ann: Person) -> None:
    app.session.fail_next(SendMessage, lambda m: TelegramRetryAfter(m, "Too Many Requests: retry after 999", 999))
    await ann.says("/menu")  # the error handler's own message goes out instead; nothing raises
    assert ann.last_text() == Texts("en")("error.generic")


async def test_edit_is_a_silent_no_op_when_the_message_is_not_modified(app: BotUnderTest, ann: Person) -> None:
    app.session.fail_next(
        EditMessageText,
        lambda m: TelegramBadRequest(
            m,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the "
            "same as a current content and reply markup of the message",
        ),
    )
    await ann.presses(MenuCb(action=MenuAction.menu))
    assert ann.saw() == ["What would you like to do?"]  # no error message followed


@pytest.mark.parametrize("flood_limit", [3])
async def test_flood_control_warns_once_then_drops_when_a_person_floods(app: BotUnderTest, ann: Person) -> None:
    for _ in range(8):
        await ann.says("/menu")
    assert ann.saw() == ["What would you like to do?"] * 3 + [
        "You are sending messages too fast. Please wait a few seconds."
    ]
    other = app.person(user_id=123)
    await other.says("/menu")  # the limit is per person
    assert other.last_text() == "What would you like to do?"


async def test_browse_answers_politely_when_the_api_is_down(app: BotUnderTest, ann: Person) -> None:
    app.api.down = True
    await ann.presses(MenuCb(action=MenuAction.browse))
    assert ann.last_text().startswith("The document service is temporarily unavailable")


async def test_metrics_count_updates_by_type_and_handler_when_handled(app: BotUnderTest, ann: Person) -> None:
    labels = {"service": "bot", "endpoint": "message:start.menu", "status": "ok"}
    before = _sample("docvault_requests_total", **labels)
    sends = _sample("docvault_integration_call_seconds_count", target="telegram", operation="sendMessage", outcome="ok")
    await ann.says("/menu")
    assert _sample("docvault_requests_total", **labels) == before + 1
    assert (
        _sample("docvault_integration_call_seconds_count", target="telegram", operation="sendMessage", outcome="ok")
        == sends + 1
    )


async def test_events_carry_the_update_correlation_id_when_appended(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/start")
    await ann.says("/language")
    await ann.presses_button("Русский")
    first, second = app.publisher.events
    assert first.correlation_id != second.correlation_id and len(first.correlation_id) == 32


async def test_every_button_press_is_answered_once_when_handled_or_refused(app: BotUnderTest, ann: Person) -> None:
    presses: list[MenuCb | str] = [MenuCb(action=MenuAction.menu), MenuCb(action=MenuAction.browse), "forged"]
    for data in presses:
        await ann.presses(data)
    app.api.down = True
    await ann.presses(MenuCb(action=MenuAction.browse))
    answered = [call.callback_query_id for call in app.session.calls(AnswerCallbackQuery)]
    assert len(answered) == len(set(answered)) == 4
