"""What Delete and Undo tell the person: until when a deleted document can be restored, and how their restore ended
(``bot.services.restores.RestoreOutcome``)."""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardMarkup

from bot.services.restores import RestoreOutcome
from bot.ui import keyboards
from bot.ui.dates import moment_text
from bot.ui.i18n import Texts
from contracts.effects import Effect


def deleted_text(tr: Texts, name: str, until: datetime | None, zone_name: str) -> str:
    """ "Deleted", with until when Undo can bring it back when the API told it in time."""
    if until is None:
        return tr("delete.done", name=name)
    return tr("delete.done_until", name=name, until=moment_text(tr.language, until, zone_name))


def expired_reply(tr: Texts) -> tuple[str, InlineKeyboardMarkup]:
    """Undo of a document whose time in the trash ran out (purged, or about to be)."""
    return tr("undo.expired"), keyboards.back_to_menu(tr)


def restore_reply(
    tr: Texts, outcome: RestoreOutcome, old_name: str, origin: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    """What to tell the person about ``outcome`` of restoring the document called ``old_name``; its card's Back
    leads to ``origin`` (where the card was opened from)."""
    effect, document_id = outcome.effect, outcome.document_id
    if effect in (Effect.restored, Effect.ignored_not_deleted):
        return tr("undo.done", name=outcome.name), keyboards.open_document(tr, document_id, origin)
    if effect == Effect.restored_renamed:
        return tr("undo.renamed", name=outcome.name, old=old_name), keyboards.open_document(tr, document_id, origin)
    if effect == Effect.restored_duplicate:
        if outcome.original is None:
            return tr("undo.duplicate_gone", name=old_name), keyboards.back_to_menu(tr)
        return (
            tr("undo.duplicate", name=old_name, original=outcome.original.name),
            keyboards.open_document(tr, outcome.original.document_id),
        )
    if effect == Effect.restore_conflict:
        return tr("undo.conflict", name=old_name), keyboards.undo_delete(tr, document_id, origin)
    if effect is None:
        return tr("undo.pending", name=old_name), keyboards.back_to_menu(tr)
    return expired_reply(tr)  # ignored_unknown: purged when its time in the trash ran out
