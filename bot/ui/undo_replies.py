"""What Undo tells the person about how their restore ended (``bot.services.restores.RestoreOutcome``)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.services.restores import RestoreOutcome
from bot.ui import keyboards
from bot.ui.i18n import Texts
from contracts.effects import Effect


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
    return tr("card.gone"), keyboards.back_to_menu(tr)  # ignored_unknown: not this person's document any more
