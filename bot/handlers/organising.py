"""Organising (issue 12): move a document from its card; rename or delete a type from its page (confirm, then Undo).

Every button is re-read through the owner-scoped API first (the document, or the type in the person's type list), so
a stale or forged one gets a polite alert and nothing else. The replies say how the processor applied the action.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.clients.person_store import ListRef
from bot.dialogs.states import MoveDocument, RenameType
from bot.handlers.browse import first_pages
from bot.handlers.filters import HasText
from bot.injected import Person, Services
from bot.services.organising import Outcome, same_title
from bot.services.saving import TextRefused
from bot.ui import keyboards
from bot.ui.callbacks import DocAction, DocCb, MoveCb, TypeAction, TypeActionCb, TypeUndoCb
from bot.ui.i18n import Texts
from bot.ui.presentation import parse_doc_ref
from bot.ui.screen import say, show, typed_name
from contracts.api_schemas import DocumentDetail, TypeSummary
from contracts.effects import Effect
from contracts.text import MAX_TYPE_TITLE_LENGTH

MOVE_SAID: dict[str, str] = {
    Effect.moved: "move.done",
    Effect.moved_renamed: "move.renamed",
    Effect.move_conflict: "move.conflict",
    Effect.ignored_same_type: "move.same",
}
# How an Undo of a type deletion ended: the text naming the type, and the one for a button that no longer knows it.
RESTORED: dict[str, tuple[str, str]] = {
    Effect.type_restored: ("type.restored", "type.restored_unnamed"),
    Effect.type_restored_partly: ("type.restored_partly", "type.restored_partly_unnamed"),
    Effect.ignored_nothing_to_restore: ("type.nothing_to_restore", "type.nothing_to_restore_unnamed"),
}
RESTORE_PENDING = ("type.restore_pending", "type.restore_pending_unnamed")


async def _document(query: CallbackQuery, doc: str, services: Services, person: Person) -> DocumentDetail | None:
    found = await services.library.document(person.owner_id, parse_doc_ref(doc), person.after_event)
    if found is None:
        await query.answer(person.tr.plain("card.gone"), show_alert=True)
    return found


async def _type(query: CallbackQuery, slug: str, services: Services, person: Person) -> TypeSummary | None:
    found = next((t for t in await services.library.types(person.owner_id, person.after_event) if t.slug == slug), None)
    if found is None:
        await query.answer(person.tr.plain("type.gone"), show_alert=True)
    return found


async def ask_move(query: CallbackQuery, callback_data: DocCb, services: Services, person: Person) -> None:
    document = await _document(query, callback_data.doc, services, person)
    if document is None:
        return
    choice = await services.shelves.choice(person.owner_id, person.after_event)
    others = [(t, token) for t, token in zip(choice.types, choice.tokens) if t.slug != document.type_slug]
    markup = keyboards.move_choice(
        person.tr, document.document_id, [t for t, _ in others], [k for _, k in others], callback_data.back
    )
    await show(query, person.tr("move.ask", name=document.name), markup)


async def move_to_type(query: CallbackQuery, callback_data: MoveCb, services: Services, person: Person) -> None:
    ref = await services.shelves.recall(person.owner_id, callback_data.token)
    if ref is None:
        await query.answer(person.tr.plain("stale.button"), show_alert=True)
        return
    document = await _document(query, callback_data.doc, services, person)
    if document is not None:
        await _moved(query, document, ref.title, services, person)


async def ask_new_type(
    query: CallbackQuery, callback_data: DocCb, state: FSMContext, services: Services, person: Person
) -> None:
    document = await _document(query, callback_data.doc, services, person)
    if document is None:
        return
    await state.set_state(MoveDocument.entering_type)
    await state.set_data({"document_id": document.document_id, "name": document.name})
    await say(query, person.tr("move.ask_title", name=document.name), keyboards.cancel_only(person.tr))


async def new_type_typed(message: Message, state: FSMContext, services: Services, person: Person) -> None:
    title = await typed_name(message, message.text or "", person.tr, MAX_TYPE_TITLE_LENGTH, "type")
    if title is None:
        return
    data = await state.get_data()
    document = await services.library.document(person.owner_id, data.get("document_id"), person.after_event)
    if document is None:
        await state.clear()
        await message.answer(person.tr("card.gone"), reply_markup=keyboards.back_to_menu(person.tr))
        return
    if await _moved(message, document, title, services, person):
        await state.clear()


async def _moved(
    target: Message | CallbackQuery, document: DocumentDetail, title: str, services: Services, person: Person
) -> bool:
    """Move and say how it ended; False when the API refused the title (asked again)."""
    tr = person.tr
    outcome = await services.organiser.move(person.owner_id, document.document_id, title)
    if isinstance(outcome, TextRefused):
        await say(target, tr(outcome.problem, max=MAX_TYPE_TITLE_LENGTH), keyboards.cancel_only(tr))
        return False
    await say(target, *move_reply(tr, outcome, document))
    return True


def move_reply(tr: Texts, outcome: Outcome, document: DocumentDetail) -> tuple[str, InlineKeyboardMarkup]:
    """Pure: what to tell the person about a move of ``document`` (its card's Back then leads to its type)."""
    opened = keyboards.open_document(tr, document.document_id)
    if outcome.effect is None:
        return tr("move.pending", name=document.name, type=outcome.title), opened
    key = MOVE_SAID.get(outcome.effect)
    if key is None:  # the document went away meanwhile
        return tr("card.gone"), keyboards.back_to_menu(tr)
    return tr(key, name=outcome.name or document.name, type=outcome.title, old=document.name), opened


async def ask_type_rename(
    query: CallbackQuery, callback_data: TypeActionCb, state: FSMContext, services: Services, person: Person
) -> None:
    kind = await _type(query, callback_data.slug, services, person)
    if kind is None:
        return
    await state.set_state(RenameType.entering_title)
    await state.set_data({"slug": kind.slug})
    await say(query, person.tr("type.rename_ask", title=kind.title), keyboards.cancel_only(person.tr))


async def type_title_typed(message: Message, state: FSMContext, services: Services, person: Person) -> None:
    tr = person.tr
    title = await typed_name(message, message.text or "", tr, MAX_TYPE_TITLE_LENGTH, "type")
    if title is None:
        return
    slug = (await state.get_data()).get("slug")
    types = await services.library.types(person.owner_id, person.after_event)
    kind = next((t for t in types if t.slug == slug), None)
    if kind is None:
        await state.clear()
        await message.answer(tr("type.gone"), reply_markup=keyboards.back_to_menu(tr))
        return
    if title == kind.title:
        await state.clear()
        await message.answer(tr("type.rename_same"), reply_markup=await _type_way_on(services, person, kind))
        return
    taken = same_title(types, title, but=kind.slug)
    if taken is not None and taken.live_count > 0:
        await message.answer(tr("type.rename_taken", title=taken.title), reply_markup=keyboards.cancel_only(tr))
        return
    outcome = await services.organiser.rename_type(person.owner_id, kind, title)
    if isinstance(outcome, TextRefused):
        await message.answer(tr(outcome.problem, max=MAX_TYPE_TITLE_LENGTH), reply_markup=keyboards.cancel_only(tr))
        return
    await state.clear()
    text, markup = await _renamed_reply(services, person, outcome)
    await message.answer(text, reply_markup=markup)


async def _type_way_on(services: Services, person: Person, kind: TypeSummary | None) -> InlineKeyboardMarkup:
    pages = await first_pages(services, person.owner_id, [(kind.slug, kind.title)]) if kind else [None]
    return keyboards.open_type(person.tr, pages[0])


async def _renamed_reply(services: Services, person: Person, outcome: Outcome) -> tuple[str, InlineKeyboardMarkup]:
    tr = person.tr
    if outcome.effect == Effect.type_rename_conflict:
        return tr("type.rename_taken", title=outcome.title), keyboards.open_type(tr, None)
    types = await services.library.types(person.owner_id, person.after_event)
    kind = same_title(types, outcome.title)
    key = "type.renamed" if outcome.effect == Effect.type_renamed else "type.rename_pending"
    return tr(key, title=outcome.title), await _type_way_on(services, person, kind)


async def ask_type_delete(
    query: CallbackQuery, callback_data: TypeActionCb, services: Services, person: Person
) -> None:
    kind = await _type(query, callback_data.slug, services, person)
    if kind is not None:
        text = person.tr("type.delete_confirm", title=kind.title, count=kind.live_count)
        await show(query, text, keyboards.confirm_type_delete(person.tr, kind.slug))


async def delete_type(query: CallbackQuery, callback_data: TypeActionCb, services: Services, person: Person) -> None:
    kind = await _type(query, callback_data.slug, services, person)
    if kind is None:
        return
    deletion = await services.organiser.delete_type(person.owner_id, kind)
    [token] = await services.shelves.remember(person.owner_id, [ListRef(kind.slug, kind.title)])
    await show(
        query, person.tr("type.deleted", title=kind.title), keyboards.undo_type_delete(person.tr, deletion, token)
    )


async def undo_type_delete(query: CallbackQuery, callback_data: TypeUndoCb, services: Services, person: Person) -> None:
    deleted = await services.shelves.recall(person.owner_id, callback_data.kind) if callback_data.kind else None
    effect = await services.organiser.restore_type(person.owner_id, callback_data.event)
    listed = None
    if deleted is not None:  # the type as listed now: back (its page offered), or still gone (the types offered)
        types = await services.library.types(person.owner_id, person.after_event)
        listed = next((t for t in types if t.slug == deleted.slug), None)
    title = listed.title if listed is not None else deleted.title if deleted is not None else None
    await show(query, type_restore_text(person.tr, effect, title), await _type_way_on(services, person, listed))


def type_restore_text(tr: Texts, effect: str | None, title: str | None) -> str:
    """Pure: what to tell the person about an Undo of the deletion of the type ``title`` (None when the button no
    longer knows it: older than a day, or than this) that ended in ``effect`` (None: not applied in time)."""
    named, unnamed = RESTORED.get(effect or "", RESTORE_PENDING)
    return tr(unnamed) if title is None else tr(named, title=title)


def router() -> Router:
    r = Router(name="organising")
    r.callback_query.register(ask_move, DocCb.filter(F.action == DocAction.move))
    r.callback_query.register(ask_new_type, DocCb.filter(F.action == DocAction.move_new))
    r.callback_query.register(move_to_type, MoveCb.filter())
    r.callback_query.register(ask_type_rename, TypeActionCb.filter(F.action == TypeAction.rename))
    r.callback_query.register(ask_type_delete, TypeActionCb.filter(F.action == TypeAction.delete))
    r.callback_query.register(delete_type, TypeActionCb.filter(F.action == TypeAction.confirm_delete))
    r.callback_query.register(undo_type_delete, TypeUndoCb.filter())
    r.message.register(new_type_typed, StateFilter(MoveDocument.entering_type), HasText())
    r.message.register(type_title_typed, StateFilter(RenameType.entering_title), HasText())
    return r
