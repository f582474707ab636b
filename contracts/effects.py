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
    # document.page_added
    pages_added = "pages_added"
    ignored_same_pages = "ignored_same_pages"  # every page is already one of the document's
    ignored_page_limit = "ignored_page_limit"  # the document would pass MAX_PAGES
    # any document event
    ignored_unknown = "ignored_unknown"  # no such document of this owner
    # document.moved (issue 12)
    moved = "moved"
    moved_renamed = "moved_renamed"  # in the new type under another name (its name was taken there)
    move_conflict = "move_conflict"  # no free name in the new type: the document stays where it was
    ignored_same_type = "ignored_same_type"
    # document_type.renamed
    type_renamed = "type_renamed"
    type_rename_conflict = "type_rename_conflict"  # another type of that title holds live documents: refused
    # document_type.deleted
    type_deleted = "type_deleted"
    # document_type.renamed and document_type.deleted
    ignored_unknown_type = "ignored_unknown_type"  # no such type of this owner
    # document_type.restored
    type_restored = "type_restored"  # every document the deletion deleted is live again under its name
    type_restored_partly = "type_restored_partly"  # some under other names, as duplicates, or still deleted
    ignored_nothing_to_restore = "ignored_nothing_to_restore"
    # document.added and document.renamed: sealed under a key the person no longer has ("forget me"); any event
    # of a person at an offset before their last user.forgotten (a replay of a forgotten life applies nothing)
    ignored_forgotten = "ignored_forgotten"
    # user.forgotten
    forgotten = "forgotten"  # read models deleted, the erasure of files and key queued
    # document.valid_until_set (on a live or duplicate document; a deleted one: ignored_not_live)
    valid_until_set = "valid_until_set"
    valid_until_cleared = "valid_until_cleared"
    # document.reminder_sent
    reminder_recorded = "reminder_recorded"
    ignored_stale_reminder = "ignored_stale_reminder"  # the date changed since the reminder was due
