"""The bot's commands: what Telegram's menu button lists (``setMyCommands``, per language).

Tests check that this list, the routers' commands and the ones /help names (``help.text``) are the same.
"""

from __future__ import annotations

from aiogram.types import BotCommand

from bot.ui.i18n import Texts

COMMANDS = ("start", "menu", "add", "documents", "search", "export", "language", "forget", "help", "cancel")


def bot_commands(tr: Texts) -> list[BotCommand]:
    """The commands with their descriptions in the language of ``tr`` (plain text, as Telegram shows it)."""
    return [BotCommand(command=name, description=tr.plain(f"commands.{name}")) for name in COMMANDS]
