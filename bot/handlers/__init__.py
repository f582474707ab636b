"""One router per feature. ``all_routers()`` builds fresh routers in the order they must be tried."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    add_document,
    albums,
    browse,
    card,
    errors,
    expiry,
    fallback,
    forget,
    language,
    organising,
    pages,
    search,
    start,
)


def all_routers() -> list[Router]:
    # Commands and Cancel first (they work in any dialog state), catch-alls last.
    return [
        start.router(),
        language.router(),
        forget.router(),
        albums.router(),
        add_document.router(),
        pages.router(),
        card.router(),
        organising.router(),
        expiry.router(),
        browse.router(),
        search.router(),
        fallback.router(),
        errors.router(),
    ]
