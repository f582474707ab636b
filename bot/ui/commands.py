"""The bot's commands: what Telegram's menu button lists (``setMyCommands``, per language) and /help shows.

One list, so the two cannot drift apart; a test checks it names every command a router handles.
"""

from __future__ import annotations

from aiogram.types import BotCommand

from bot.ui.i18n import Texts

COMMANDS = ("start", "menu", "add", "documents", "search", "language", "help", "cancel")


def bot_commands(tr: Texts) -> list[BotCommand]:
    """The commands with their descriptions in the language of ``tr`` (plain text, as Telegram shows it)."""
    return [BotCommand(command=name, description=tr.plain(f"commands.{name}")) for name in COMMANDS]


def commands_text(tr: Texts) -> str:
    """The commands as /help lists them, one a line (HTML)."""
    return "\n".join(tr("commands.line", command=f"/{name}", description=tr.plain(f"commands.{name}"))
                     for name in COMMANDS)
