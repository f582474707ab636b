"""Inline keyboards, built from data only (no I/O): button texts come from the locale, values from callbacks."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.services.library import SearchPage
from bot.ui.callbacks import (
    DocAction,
    DocCb,
    LangCb,
    MenuAction,
    MenuCb,
    MoveCb,
    Origin,
    PickTypeCb,
    RetrySaveCb,
    SearchCb,
    SuggestedNameCb,
    TypeAction,
    TypeActionCb,
    TypeCb,
    TypeUndoCb,
    fits,
)
from bot.ui.i18n import LANGUAGES, Language, Texts
from bot.ui.presentation import doc_ref
from contracts.api_schemas import DocumentSummary, TypeSummary

LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}
# Buttons sharing a row: Telegram cuts labels short on a phone beyond about 15 characters each in a row of two
# ("✏️ Переименовать раздел" beside "🗑 Удалить раздел" was cut).
ROW_BUTTONS = 2
ROW_CHARACTERS = 30


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def fit_rows(buttons: Sequence[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """Pure: ``buttons`` in order, in as few rows as read well on a phone: at most ``ROW_BUTTONS`` a row and at most
    ``ROW_CHARACTERS`` of labels (a longer label gets a row of its own). So a row can differ between the languages."""
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        last = rows[-1] if rows else []
        if last and len(last) < ROW_BUTTONS and sum(len(b.text) for b in last) + len(button.text) <= ROW_CHARACTERS:
            last.append(button)
        else:
            rows.append([button])
    return rows


def _markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(row) for row in rows if row])


def _menu_button(tr: Texts, action: MenuAction, key: str) -> InlineKeyboardButton:
    return _button(tr.plain(key), MenuCb(action=action))


def main_menu(tr: Texts) -> InlineKeyboardMarkup:
    return _markup(
        [
            [_menu_button(tr, MenuAction.add, "menu.add"), _menu_button(tr, MenuAction.browse, "menu.browse")],
            [
                _menu_button(tr, MenuAction.search, "menu.search"),
                _menu_button(tr, MenuAction.language, "menu.language"),
            ],
            [
                _menu_button(tr, MenuAction.expiring, "menu.expiring"),
                _menu_button(tr, MenuAction.export, "menu.export"),
            ],
            [_menu_button(tr, MenuAction.help, "menu.help")],
        ]
    )


def cancel_only(tr: Texts) -> InlineKeyboardMarkup:
    return _markup([[_menu_button(tr, MenuAction.cancel, "common.cancel")]])


def way_on(tr: Texts, raw_state: str | None) -> InlineKeyboardMarkup:
    """Where to go from a side remark (an edited message, a sticker, a flood warning): the menu outside a dialog;
    inside one, Cancel (the dialog itself goes on with the next message)."""
    return main_menu(tr) if raw_state is None else cancel_only(tr)


def back_to_menu(tr: Texts) -> InlineKeyboardMarkup:
    return _markup([[_menu_button(tr, MenuAction.menu, "common.menu")]])


def type_list(tr: Texts, types: Sequence[TypeSummary], pages: Sequence[CallbackData]) -> InlineKeyboardMarkup:
    rows = [
        [_button(tr.plain("browse.type_button", title=t.title, count=t.live_count), page)]
        for t, page in zip(types, pages)
    ]
    rows.append([_menu_button(tr, MenuAction.add, "menu.add"), _menu_button(tr, MenuAction.menu, "common.menu")])
    return _markup(rows)


def type_choice(tr: Texts, types: Sequence[TypeSummary], tokens: Sequence[str]) -> InlineKeyboardMarkup:
    rows = [[_button(t.title, PickTypeCb(token=token))] for t, token in zip(types, tokens)]
    rows.append([_menu_button(tr, MenuAction.cancel, "common.cancel")])
    return _markup(rows)


def name_suggestion(tr: Texts, suggestion: str | None) -> InlineKeyboardMarkup:
    rows = [[_button(tr.plain("add.use_suggestion", name=suggestion), SuggestedNameCb())]] if suggestion else []
    rows.append([_menu_button(tr, MenuAction.cancel, "common.cancel")])
    return _markup(rows)


def _doc_button(text: str, action: DocAction, document_id: str, back: str = "") -> InlineKeyboardButton:
    """A button acting on a document; ``back`` (``Origin.pack()``) is where its card's Back leads."""
    return _button(text, DocCb(action=action, doc=doc_ref(document_id), back=back))


def _paging(tr: Texts, prev_page: str | None, next_page: str | None) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(text=tr.plain(key), callback_data=data)
        for key, data in (("browse.prev", prev_page), ("browse.next", next_page))
        if data
    ]


def document_page(
    tr: Texts,
    documents: Sequence[DocumentSummary],
    prev_page: str | None,
    next_page: str | None,
    origin: Origin,
    slug: str | None = None,
) -> InlineKeyboardMarkup:
    """Documents as buttons (their cards' Back returns to ``origin``, this page), then paging, then the type's own
    actions (``slug``: rename, delete); ``prev_page``/``next_page`` are packed callback data."""
    back = origin.pack()
    rows = [[_doc_button(d.name, DocAction.open, d.document_id, back)] for d in documents]
    rows.append(_paging(tr, prev_page, next_page))
    rows.extend(fit_rows(_type_actions(tr, slug)))
    rows.append(
        [_menu_button(tr, MenuAction.browse, "browse.to_types"), _menu_button(tr, MenuAction.menu, "common.menu")]
    )
    return _markup(rows)


def _type_actions(tr: Texts, slug: str | None) -> list[InlineKeyboardButton]:
    actions = [(TypeAction.rename, "type.rename"), (TypeAction.delete, "type.delete")]
    buttons = [TypeActionCb(action=action, slug=slug) for action, _ in actions] if slug else []
    return [_button(tr.plain(key), data) for (_, key), data in zip(actions, buttons) if fits(data)]


def confirm_type_delete(tr: Texts, slug: str) -> InlineKeyboardMarkup:
    return _markup(
        [
            [
                _button(tr.plain("delete.yes"), TypeActionCb(action=TypeAction.confirm_delete, slug=slug)),
                _button(tr.plain("delete.no"), TypeCb(slug=slug)),
            ]
        ]
    )


def undo_type_delete(tr: Texts, event_hex: str, kind: str) -> InlineKeyboardMarkup:
    """Undo (``kind``: the navigation token of the deleted type), the types and the menu."""
    return _markup(
        [
            [_button(tr.plain("delete.undo"), TypeUndoCb(event=event_hex, kind=kind))],
            [_menu_button(tr, MenuAction.browse, "browse.to_types"), _menu_button(tr, MenuAction.menu, "common.menu")],
        ]
    )


def open_type(tr: Texts, page: CallbackData | None) -> InlineKeyboardMarkup:
    """The type's first page (when known), the types and the menu."""
    first = [_button(tr.plain("type.open"), page)] if page is not None else []
    return _markup(
        [
            first,
            [_menu_button(tr, MenuAction.browse, "browse.to_types"), _menu_button(tr, MenuAction.menu, "common.menu")],
        ]
    )


def move_choice(
    tr: Texts, document_id: str, types: Sequence[TypeSummary], tokens: Sequence[str], origin: str = ""
) -> InlineKeyboardMarkup:
    """The types a document can go to, a new one, and Back to its card."""
    rows = [[_button(t.title, MoveCb(doc=doc_ref(document_id), token=token))] for t, token in zip(types, tokens)]
    rows.append([_doc_button(tr.plain("move.new_type"), DocAction.move_new, document_id, origin)])
    rows.append([_doc_button(tr.plain("card.back"), DocAction.open, document_id, origin)])
    return _markup(rows)


def document_card(
    tr: Texts, document_id: str, back: CallbackData, links_enabled: bool, origin: str = ""
) -> InlineKeyboardMarkup:
    """The card's actions in two groups, the file's and the changes (laid out by ``fit_rows``; each keeps ``origin``,
    so coming back to the card keeps its Back), then Back to ``back`` and the menu. A new action joins a group."""

    def action(key: str, what: DocAction) -> InlineKeyboardButton:
        return _doc_button(tr.plain(key), what, document_id, origin)

    the_file = [action("card.get", DocAction.get)]
    if links_enabled:
        the_file.append(action("card.link", DocAction.link))
    the_file.append(action("card.add_page", DocAction.add_page))
    changes = [
        action("card.rename", DocAction.rename),
        action("card.move", DocAction.move),
        action("card.valid_until", DocAction.valid_until),
        action("card.delete", DocAction.delete),
    ]
    return _markup(
        [
            *fit_rows(the_file),
            *fit_rows(changes),
            [_button(tr.plain("card.back"), back), _menu_button(tr, MenuAction.menu, "common.menu")],
        ]
    )


def confirm_delete(tr: Texts, document_id: str, origin: str = "") -> InlineKeyboardMarkup:
    return _markup(
        [
            [
                _doc_button(tr.plain("delete.yes"), DocAction.confirm_delete, document_id, origin),
                _doc_button(tr.plain("delete.no"), DocAction.open, document_id, origin),
            ]
        ]
    )


def undo_delete(tr: Texts, document_id: str, origin: str = "") -> InlineKeyboardMarkup:
    return _markup(
        [
            [_doc_button(tr.plain("delete.undo"), DocAction.undo, document_id, origin)],
            [_menu_button(tr, MenuAction.menu, "common.menu")],
        ]
    )


def open_document(tr: Texts, document_id: str, origin: str = "") -> InlineKeyboardMarkup:
    """Open the document's card (whose Back leads to ``origin``), or the menu."""
    return _markup(
        [
            [_doc_button(tr.plain("common.open"), DocAction.open, document_id, origin)],
            [_menu_button(tr, MenuAction.menu, "common.menu")],
        ]
    )


def search_results(tr: Texts, found: SearchPage) -> InlineKeyboardMarkup:
    """One page of results (their cards' Back returns to this page), paging, Search again and Menu."""
    back = Origin(search_token=found.token, page=found.page).pack()
    rows = [
        [
            _doc_button(
                tr.plain("search.result_button", name=d.name, type=d.type_title), DocAction.open, d.document_id, back
            )
        ]
        for d in found.documents
    ]
    pages = [
        SearchCb(token=found.token, page=n).pack() if 1 <= n <= found.pages else None
        for n in (found.page - 1, found.page + 1)
    ]
    rows.append(_paging(tr, *pages))
    rows.append([_menu_button(tr, MenuAction.search, "search.again"), _menu_button(tr, MenuAction.menu, "common.menu")])
    return _markup(rows)


def language_choice(tr: Texts, current: Language) -> InlineKeyboardMarkup:
    """The languages, the current one marked; Menu to leave it as it is."""
    names = [("✓ " if code == current else "") + LANGUAGE_NAMES[code] for code in LANGUAGES]
    return _markup(
        [
            [_button(name, LangCb(code=code)) for name, code in zip(names, LANGUAGES)],
            [_menu_button(tr, MenuAction.menu, "common.menu")],
        ]
    )


def quota_reached(tr: Texts) -> InlineKeyboardMarkup:
    return _markup(
        [[_menu_button(tr, MenuAction.browse, "menu.browse"), _menu_button(tr, MenuAction.menu, "common.menu")]]
    )


def retry_save(tr: Texts) -> InlineKeyboardMarkup:
    return _markup(
        [[_button(tr.plain("common.retry"), RetrySaveCb()), _menu_button(tr, MenuAction.cancel, "common.cancel")]]
    )


def saved_document(tr: Texts, document_id: str) -> InlineKeyboardMarkup:
    """After a save: open it, or (optional, the save is done) add its valid-until date."""
    return _markup(
        [
            [_doc_button(tr.plain("common.open"), DocAction.open, document_id)],
            [_doc_button(tr.plain("expiry.add"), DocAction.valid_until, document_id)],
            [_menu_button(tr, MenuAction.menu, "common.menu")],
        ]
    )


def valid_until_prompt(tr: Texts, document_id: str, origin: str, has_date: bool) -> InlineKeyboardMarkup:
    """While a date is asked: remove the one it has (if any), or leave the dialog."""
    remove = [_doc_button(tr.plain("expiry.remove"), DocAction.clear_valid_until, document_id, origin)]
    return _markup([remove if has_date else [], [_menu_button(tr, MenuAction.cancel, "common.cancel")]])


def expiring_list(tr: Texts, documents: Sequence[DocumentSummary], labels: Sequence[str]) -> InlineKeyboardMarkup:
    """One button per expiring document (its date and name), then the menu."""
    rows = [[_doc_button(label, DocAction.open, doc.document_id)] for doc, label in zip(documents, labels, strict=True)]
    rows.append([_menu_button(tr, MenuAction.menu, "common.menu")])
    return _markup(rows)


def reminder(tr: Texts, document_id: str) -> InlineKeyboardMarkup:
    """Under a reminder: open the document (to renew its date), or the menu."""
    return open_document(tr, document_id)
