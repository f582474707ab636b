"""Callback data factories. Telegram allows 64 bytes; every field here has a bounded length (tested).

Values that can be long (type slugs, API cursors) never travel in callback data: they are stored in Redis
under a short owner-scoped token (see ``bot.clients.person_store``).

Fields are validated when a button is unpacked: data that names a factory but not a value it could have
packed (forged, garbled, from an older bot) matches no handler and gets the "outdated button" answer.
``unpack`` raises only ``TypeError`` (wrong number of fields) and ``ValueError`` (bad prefix, or pydantic's
``ValidationError``, a ``ValueError``), the two errors aiogram's callback filter treats as "no match".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, unique
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import BeforeValidator, Field, StringConstraints

from contracts.events import Slug

DocRef = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]  # bot.ui.presentation.doc_ref
# A navigation token of bot.clients.person_store (12 characters of urlsafe base64).
NavToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{12}$")]
OptionalNavToken = Annotated[str, StringConstraints(pattern=r"^(|[A-Za-z0-9_-]{12})$")]
MAX_SEARCH_PAGE = 999


def _canonical_page(value: object) -> object:
    """A page number as ``pack`` writes it: pydantic's lax int parsing also takes "1\r" or "01"."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit() and value[:1] != "0"):
        raise ValueError("a page number is written in decimal digits without a leading zero")
    return value


PageNumber = Annotated[int, BeforeValidator(_canonical_page), Field(ge=1, le=MAX_SEARCH_PAGE)]
# Where a card was opened from, so its Back returns there (``bot.ui.callbacks.Origin``): "" the first page of the
# document's type, "t<token>" a later page of the type (a ListCb token), "s<page>.<token>" a page of search results.
OriginRef = Annotated[str, StringConstraints(pattern=r"^(|t[A-Za-z0-9_-]{12}|s[1-9][0-9]{0,2}\.[A-Za-z0-9_-]{12})$")]


@unique
class MenuAction(str, Enum):
    menu = "m"
    add = "a"
    browse = "b"
    search = "s"
    language = "l"
    help = "h"
    cancel = "c"
    expiring = "e"
    export = "x"


@unique
class DocAction(str, Enum):
    open = "o"
    get = "g"
    rename = "r"
    delete = "d"
    confirm_delete = "y"
    undo = "u"
    link = "l"
    back = "b"
    move = "v"  # choose where the document goes
    move_new = "w"  # ... into a new type, whose name is typed
    add_page = "p"
    valid_until = "t"  # ask for the document's valid-until date
    clear_valid_until = "x"  # remove it


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
    back: OriginRef = ""  # where the card's Back leads (``Origin``); carried by every button of the card

    @classmethod
    def unpack(cls, value: str) -> DocCb:
        """Also the buttons of the bot before ``back`` existed ("d:o:<id>"): their Back leads to the type."""
        if value.count(cls.__separator__) == 2:
            value += cls.__separator__
        return super().unpack(value)


class SearchCb(CallbackData, prefix="q"):
    """A page of search results; ``token`` names the query in the navigation store."""

    token: NavToken
    page: PageNumber


@dataclass(frozen=True)
class Origin:
    """Where a card was opened from: a page of the type's list (``list_token``, None for the first page) or a page
    of search results (``search_token``, ``page``). Packed into ``DocCb.back``, at most 16 characters."""

    list_token: str | None = None
    search_token: str | None = None
    page: int = 1

    def pack(self) -> str:
        if self.search_token is not None:
            return f"s{self.page}.{self.search_token}"
        return f"t{self.list_token}" if self.list_token is not None else ""

    @classmethod
    def unpack(cls, back: str) -> Origin:
        """The origin ``DocCb.back`` names (validated by ``OriginRef`` when the button was unpacked)."""
        if back.startswith("s"):
            page, token = back[1:].split(".", 1)
            return cls(search_token=token, page=int(page))
        return cls(list_token=back[1:]) if back.startswith("t") else cls()

    def button(self) -> CallbackData | None:
        """The callback data of the page to return to; None for the type's first page (the caller knows the
        type)."""
        if self.search_token is not None:
            return SearchCb(token=self.search_token, page=self.page)
        return ListCb(token=self.list_token) if self.list_token is not None else None


class LangCb(CallbackData, prefix="l"):
    code: str


class RetrySaveCb(CallbackData, prefix="r"):
    """Try the last step of the add dialog again (the file and answers are kept in the dialog state)."""


class MoveCb(CallbackData, prefix="v"):
    """Move a document into an existing type; ``token`` names the type in the navigation store."""

    doc: DocRef
    token: NavToken


@unique
class TypeAction(str, Enum):
    rename = "r"
    delete = "d"
    confirm_delete = "y"


class TypeActionCb(CallbackData, prefix="k"):
    """An action on a type from its page (the slug as the type list gives it; re-read before acting)."""

    action: TypeAction
    slug: Slug


class TypeUndoCb(CallbackData, prefix="z"):
    """Undo a type deletion: ``event`` is the deletion's event id as 32 hex digits; ``kind`` a navigation token
    naming the deleted type (slug and title), so the reply can name it and open its page ("" when not known)."""

    event: DocRef
    kind: OptionalNavToken = ""

    @classmethod
    def unpack(cls, value: str) -> TypeUndoCb:
        """Also the buttons of the bot before ``kind`` existed ("z:<event>"): their reply names no type."""
        if value.count(cls.__separator__) == 1:
            value += cls.__separator__
        return super().unpack(value)
