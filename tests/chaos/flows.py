"""What the people in chaos tests do, step by step, through the fake Telegram server."""

from __future__ import annotations

from bot.ui.i18n import Texts
from tests.e2e.processes import Chat, text_of

EN = Texts("en")
SAVE_FAILED = EN("add.save_failed")
SAVED = EN("add.saved", name="|", type="|").partition("|")[0]


async def start_adding(chat: Chat, type_title: str, name: str) -> None:
    """/add, the type, the name: the dialog then waits for the file."""
    await chat.says("/add")
    await chat.says(type_title)
    asked = await chat.says(name)
    assert text_of(asked) == EN("add.ask_file", name=name), text_of(asked)


async def send_until_saved(chat: Chat, content: bytes, file_name: str, max_retries: int = 5) -> int:
    """Send the file, pressing "Try again" while the bot says saving failed; returns how often it said so."""
    reply = await chat.sends_document(content, file_name)
    prompts = 0
    while SAVE_FAILED in text_of(reply) and prompts < max_retries:
        prompts += 1
        reply = await chat.presses("Try again")
    assert text_of(reply).startswith(SAVED), text_of(reply)
    return prompts
