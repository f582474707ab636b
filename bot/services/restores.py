"""How an Undo ended: the processor decides (``contracts.effects``), the bot reads it back and tells the truth.

A restore can bring the document back under its name, under another one (its name was taken meanwhile), as a
duplicate of a live document with the same content, or not at all (no free name left). The bot appends
``document.restored``, reads the document with ``after_event`` (the API waits until the event is applied) and
the event's status, and says which. If that is not known in time, it says the restore was sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup

from contracts.api_schemas import DocumentDetail
from contracts.effects import Effect

from bot.ui import keyboards
from bot.clients.api_client import ApiError, ApiNotFound, DocumentsApi
from bot.ui.i18n import Texts


@dataclass(frozen=True)
class RestoreOutcome:
    """``effect`` None: not applied in time. ``name`` is the document's name now; ``original`` the live document
    with the same content, for a duplicate."""

    effect: str | None
    document_id: str
    name: str
    original: DocumentDetail | None = None


async def restore_outcome(api: DocumentsApi, owner_id: int, before: DocumentDetail, event_id: str) -> RestoreOutcome:
    pending = RestoreOutcome(None, before.document_id, before.name)
    try:
        after = await api.get_document(owner_id, before.document_id, after_event=event_id)
        status = await api.event_status(owner_id, event_id)
    except ApiError:  # not applied within the waits, or the API is briefly away: the event is in the log
        return pending
    if not status.applied:
        return pending
    original = None
    if status.effect == Effect.restored_duplicate and after.duplicate_of:
        original = await _document_or_none(api, owner_id, after.duplicate_of)
    return RestoreOutcome(status.effect, after.document_id, after.name, original)


async def _document_or_none(api: DocumentsApi, owner_id: int, document_id: str) -> DocumentDetail | None:
    try:
        return await api.get_document(owner_id, document_id)
    except ApiNotFound:
        return None


def restore_reply(tr: Texts, outcome: RestoreOutcome, old_name: str) -> tuple[str, InlineKeyboardMarkup]:
    """What to tell the person about ``outcome`` of restoring the document called ``old_name``."""
    effect, document_id = outcome.effect, outcome.document_id
    if effect in (Effect.restored, Effect.ignored_not_deleted):
        return tr("undo.done", name=outcome.name), keyboards.open_document(tr, document_id)
    if effect == Effect.restored_renamed:
        return tr("undo.renamed", name=outcome.name, old=old_name), keyboards.open_document(tr, document_id)
    if effect == Effect.restored_duplicate:
        if outcome.original is None:
            return tr("undo.duplicate_gone", name=old_name), keyboards.back_to_menu(tr)
        return (tr("undo.duplicate", name=old_name, original=outcome.original.name),
                keyboards.open_document(tr, outcome.original.document_id))
    if effect == Effect.restore_conflict:
        return tr("undo.conflict", name=old_name), keyboards.undo_delete(tr, document_id)
    if effect is None:
        return tr("undo.pending", name=old_name), keyboards.back_to_menu(tr)
    return tr("card.gone"), keyboards.back_to_menu(tr)  # ignored_unknown: not this person's document any more
