"""Callback data factories. Telegram allows 64 bytes; every field here has a bounded length (tested).

Values that can be long (type slugs, API cursors) never travel in callback data: they are stored in Redis
under a short owner-scoped token (see ``bot.clients.person_store``).

Fields are validated when a button is unpacked: data that names a factory but not a value it could have
packed (forged, garbled, from an older bot) matches no handler and gets the "outdated button" answer.
``unpack`` raises only ``TypeError`` (wrong number of fields) and ``ValueError`` (bad prefix, or pydantic's
``ValidationError``, a ``ValueError``), the two errors aiogram's callback filter treats as "no match".
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import StringConstraints

from contracts.events import Slug

DocRef = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]  # bot.ui.presentation.doc_ref


class MenuAction(str, Enum):
    menu = "m"
    add = "a"
    browse = "b"
    search = "s"
    language = "l"
    help = "h"
    cancel = "c"


class DocAction(str, Enum):
    open = "o"
    get = "g"
    rename = "r"
    delete = "d"
    confirm_delete = "y"
    undo = "u"
    link = "l"
    back = "b"


class MenuCb(CallbackData, prefix="m"):
    action: MenuAction


def fits(data: CallbackData) -> bool:
    """Whether ``data`` packs into Telegram's 64 bytes."""
    try:
        data.pack()
    except ValueError:
        return False
    return True


class TypeCb(CallbackData, prefix="y"):
    """The first page of a type, named by its slug (when the slug is short enough, which it nearly always is)."""

    slug: Slug  # what the API accepts as a type slug; anything else would be refused there


class ListCb(CallbackData, prefix="t"):
    """A page of documents of one type; ``token`` names (slug, cursor) in the navigation store."""

    token: str


class PickTypeCb(CallbackData, prefix="p"):
    """An existing type chosen in the add dialog; ``token`` names the type in the navigation store."""

    token: str


class SuggestedNameCb(CallbackData, prefix="n"):
    """Take the name suggested from the file name (kept in the dialog state)."""


class DocCb(CallbackData, prefix="d"):
    action: DocAction
    doc: DocRef  # document id as 32 hex digits (a UUID without dashes)


class LangCb(CallbackData, prefix="l"):
    code: str


class RetrySaveCb(CallbackData, prefix="r"):
    """Try the last step of the add dialog again (the file and answers are kept in the dialog state)."""
