"""What applying an event did: the ``effect`` a projection returns, stored in the ``applied_events`` ledger
and answered by the API's event status, so the bot can tell a person how their action ended."""

from __future__ import annotations

from enum import StrEnum


class Effect(StrEnum):
    # users
    user_created = "created"
    user_seen = "seen"
    user_updated = "updated"
    # document.added
    created = "created"
    created_renamed = "created_renamed"  # live under another name than asked (the name was taken)
    created_duplicate = "created_duplicate"  # the person already stores the same content live
    ignored_existing = "ignored_existing"
    # document.renamed
    renamed = "renamed"
    rename_conflict = "rename_conflict"  # no free name: the document keeps its old one
    ignored_not_live = "ignored_not_live"
    # document.deleted
    deleted = "deleted"
    ignored_already_deleted = "ignored_already_deleted"
    # document.restored
    restored = "restored"
    restored_renamed = "restored_renamed"  # live again under another name (its old one was taken meanwhile)
    restored_duplicate = "restored_duplicate"
    restore_conflict = "restore_conflict"  # no free name: the document stays deleted
    ignored_not_deleted = "ignored_not_deleted"
    # any document event
    ignored_unknown = "ignored_unknown"  # no such document of this owner
    # document.added and document.renamed
    ignored_forgotten = "ignored_forgotten"  # sealed under a key the person no longer has ("forget me")
    # document.valid_until_set (on a live or duplicate document; a deleted one: ignored_not_live)
    valid_until_set = "valid_until_set"
    valid_until_cleared = "valid_until_cleared"
    # document.reminder_sent
    reminder_recorded = "reminder_recorded"
    ignored_stale_reminder = "ignored_stale_reminder"  # the date changed since the reminder was due
