"""Valid-until reminders through the whole system as real processes (fake Telegram -> bot -> stream ->
processor -> MongoDB -> API -> the bot's sender -> fake Telegram), in polling and webhook mode: a person adds a
document, gives it a date a week ahead, gets one reminder; the bot is killed (SIGKILL) and started again, and the
reminder is not sent a second time (docs/adr/0015)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.services.expiry import local_day
from bot.ui.i18n import Texts
from bot.ui.presentation import reminder_text
from tests.e2e.processes import Chat, text_of
from tests.e2e.system import RunningSystem, running_system
from tests.fake_telegram.server import BotCall

pytestmark = pytest.mark.integration
EN = Texts("en")
ZONE = "Europe/Moscow"  # the bot's default BOT_TIME_ZONE
# Reminders from midnight, a round twice a second: the test waits for what it asserts, never for a time.
REMINDERS = {"REMINDER_HOUR": "0", "REMINDER_CHECK_SECONDS": "0.5", "REMINDER_DAYS": "30,7"}


async def _add_dated(person: Chat, name: str, day: date, content: bytes) -> None:
    await person.presses("Add document")
    await person.says("Passport")
    await person.says(name)
    saved = await person.sends_document(content, f"{name}.pdf")
    assert text_of(saved) == EN("add.saved", name=name, type="Passport")
    await person.presses("Add a date")
    noted = await person.says(f"{day:%d.%m.%Y}")
    assert text_of(noted).startswith("✅ “" + name)


def _reminder_of(person: Chat, name: str, day: date) -> Callable[[BotCall], bool]:
    expected = reminder_text(EN, name, "Passport", day, local_day(ZONE))

    def matches(call: BotCall) -> bool:
        return (
            call.method == "sendMessage"
            and call.params.get("chat_id") == str(person.user_id)
            and text_of(call) == expected
        )

    return matches


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_expiry_reminder_delivered_once_across_a_bot_restart_when_the_date_is_a_week_ahead(
    mode: str, tmp_path: Path
) -> None:
    async with running_system(mode, tmp_path, bot_overrides=REMINDERS) as system:
        await _remind_once_across_a_kill(system)


async def _remind_once_across_a_kill(system: RunningSystem) -> None:
    ann = system.person(901)
    await ann.says("/start")
    week = local_day(ZONE) + timedelta(days=7)
    await _add_dated(ann, "Main passport", week, b"%PDF-1.7 main passport")
    first = _reminder_of(ann, "Main passport", week)
    reminder = await system.telegram.wait_for_call(first, timeout=60)
    assert "Days left: 7." in text_of(reminder)

    await system.restart("bot", kill=True)
    # A second document dated after the restart: its reminder shows that the restarted sender has run its rounds
    # (each round asks for every reminder due, the first one's too, had it not been recorded).
    soon = local_day(ZONE) + timedelta(days=3)
    await ann.says("/menu")
    await _add_dated(ann, "Visa page", soon, b"%PDF-1.7 visa page")
    await system.telegram.wait_for_call(_reminder_of(ann, "Visa page", soon), timeout=60)

    assert sum(1 for call in system.telegram.calls if first(call)) == 1
    await ann.says("/menu")
    listed = await ann.presses("Expiring soon")
    assert text_of(listed).startswith("<b>Expiring within 30 days</b>")
    assert [label.split(" · ")[1] for label, _ in ann.buttons()[:-1]] == ["Visa page", "Main passport"]
