"""Valid-until dates: set or remove a document's date (from its card, or offered after a save), and the
"Expiring soon" screen. Every button re-reads the document through the owner-scoped API first."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.dialogs.states import SetValidUntil
from bot.handlers.filters import HasText
from bot.injected import Person, Services
from bot.services.expiry import Expiring, typed_date
from bot.ui import keyboards
from bot.ui.callbacks import DocAction, DocCb, MenuAction, MenuCb
from bot.ui.dates import day_text
from bot.ui.i18n import Texts
from bot.ui.presentation import parse_doc_ref
from bot.ui.screen import say, show
from contracts.api_schemas import DocumentDetail


async def _live(
    query: CallbackQuery, callback_data: DocCb, services: Services, person: Person
) -> DocumentDetail | None:
    document = await services.library.document(person.owner_id, parse_doc_ref(callback_data.doc), person.after_event)
    if document is None:
        await query.answer(person.tr.plain("card.gone"), show_alert=True)
    return document


def ask_text(tr: Texts, document: DocumentDetail) -> str:
    if document.valid_until is None:
        return tr("expiry.ask", name=document.name)
    return tr("expiry.ask_current", name=document.name, date=day_text(tr.language, document.valid_until))


async def ask_date(
    query: CallbackQuery, callback_data: DocCb, state: FSMContext, services: Services, person: Person
) -> None:
    document = await _live(query, callback_data, services, person)
    if document is None:
        return
    await state.set_state(SetValidUntil.entering_date)
    await state.set_data({"document_id": document.document_id, "name": document.name, "back": callback_data.back})
    markup = keyboards.valid_until_prompt(
        person.tr, document.document_id, callback_data.back, document.valid_until is not None
    )
    await say(query, ask_text(person.tr, document), markup)


async def date_typed(message: Message, state: FSMContext, services: Services, person: Person) -> None:
    tr = person.tr
    day = typed_date(message.text or "")
    if day is None:  # asked again; Cancel leaves
        await message.answer(tr("expiry.not_a_date"), reply_markup=keyboards.cancel_only(tr))
        return
    data = await state.get_data()
    await services.valid_until.record(person.owner_id, data["document_id"], day)
    await state.clear()
    key = "expiry.set_past" if day < services.valid_until.today() else "expiry.set"
    await message.answer(
        tr(key, name=data["name"], date=day_text(tr.language, day)),
        reply_markup=keyboards.open_document(tr, data["document_id"], data.get("back", "")),
    )


async def clear_date(
    query: CallbackQuery, callback_data: DocCb, state: FSMContext, services: Services, person: Person
) -> None:
    document = await _live(query, callback_data, services, person)
    if document is None:
        return
    await state.clear()
    if document.valid_until is not None:  # a second tap has nothing to remove
        await services.valid_until.record(person.owner_id, document.document_id, None)
    await show(
        query,
        person.tr("expiry.removed", name=document.name),
        keyboards.open_document(person.tr, document.document_id, callback_data.back),
    )


def expiring_text(tr: Texts, found: Expiring) -> str:
    if not found.documents:
        return tr("expiry.nothing", days=found.days)
    return tr("expiry.title", days=found.days, today=day_text(tr.language, found.first))


def expiring_labels(tr: Texts, found: Expiring) -> list[str]:
    return [
        tr.plain("expiry.button", date=day_text(tr.language, doc.valid_until), name=doc.name)
        for doc in found.documents
        if doc.valid_until is not None
    ]


async def expiring(query: CallbackQuery, services: Services, person: Person) -> None:
    found = await services.valid_until.expiring(person.owner_id, person.after_event)
    dated = Expiring(found.first, found.days, [doc for doc in found.documents if doc.valid_until is not None])
    tr = person.tr
    await show(
        query, expiring_text(tr, dated), keyboards.expiring_list(tr, dated.documents, expiring_labels(tr, dated))
    )


def router() -> Router:
    r = Router(name="expiry")
    r.callback_query.register(ask_date, DocCb.filter(F.action == DocAction.valid_until))
    r.callback_query.register(clear_date, DocCb.filter(F.action == DocAction.clear_valid_until))
    r.callback_query.register(expiring, MenuCb.filter(F.action == MenuAction.expiring))
    r.message.register(date_typed, StateFilter(SetValidUntil.entering_date), HasText())
    return r
