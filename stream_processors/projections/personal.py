"""The text a person typed, as the projections work with it: opened from a sealed v2 event, or as a v1 event (lifted
by the upcaster, ``plaintext``) carried it. Pure: the person's keys are handed in by the processor.

- A value sealed under a key that is no longer the person's (destroyed by "forget me") cannot be opened, by
  design: ``None``, and the event applies as a no-op (``ignored_forgotten``).
- A value of the person's live key that does not open was tampered with: ``BrokenCiphertext`` is raised, the event
  is unappliable and goes to the dead-letter stream (never stored, never served).
- A text that opens but is not what the sender had to write (not cleaned, too long) is refused the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events import DocumentAdded, DocumentAddedV2, DocumentRenamed, DocumentRenamedV2, StoredFile
from contracts.text import MAX_FILE_NAME_LENGTH, MAX_NAME_LENGTH, MAX_TYPE_TITLE_LENGTH, clean_display_name
from service_kit.crypto import BrokenCiphertext, PersonKeys, sealed_key_id
from service_kit.keyed import type_key

AddedPayload = DocumentAdded | DocumentAddedV2
RenamedPayload = DocumentRenamed | DocumentRenamedV2
NAMED_PAYLOADS = (DocumentAdded, DocumentAddedV2, DocumentRenamed, DocumentRenamedV2)


class UncleanText(ValueError):
    """A sealed text opened, but is not a cleaned name (its sender skipped the rules every writer applies)."""


@dataclass(frozen=True)
class AddedTexts:
    """A document.added as the projection applies it: plain name and title, the keyed type slug, and the file as
    the read model keeps it (file name sealed)."""

    type_key: str
    type_title: str
    name: str
    file: StoredFile
    more_pages: tuple[StoredFile, ...] = ()


def _is_plain(payload: AddedPayload | RenamedPayload) -> bool:
    return isinstance(payload, (DocumentAdded, DocumentRenamed)) or payload.plaintext


def _opened_name(keys: PersonKeys, field: str, sealed: str, max_length: int) -> str | None:
    if sealed_key_id(sealed) != keys.key_id:
        return None
    text = keys.open(field, sealed)
    if len(text) > max_length or clean_display_name(text, max_length) != text:
        raise UncleanText(f"a sealed {field} of owner {keys.owner_id} is not a cleaned name")
    return text


def read_renamed(payload: RenamedPayload, keys: PersonKeys) -> str | None:
    """The new name in the clear, or None when it was sealed under a forgotten key."""
    if _is_plain(payload):
        return payload.name
    return _opened_name(keys, "name", payload.name, MAX_NAME_LENGTH)


def read_title(sealed: str, keys: PersonKeys) -> str | None:
    """A sealed type title in the clear (a move's, a type rename's), or None when sealed under a forgotten key."""
    return _opened_name(keys, "type_title", sealed, MAX_TYPE_TITLE_LENGTH)


def read_added(payload: AddedPayload, keys: PersonKeys) -> AddedTexts | None:
    """What the add says in the clear, or None when a value was sealed under a forgotten key."""
    if _is_plain(payload):
        return AddedTexts(
            type_key(keys, payload.type_slug),
            payload.type_title,
            payload.name,
            with_sealed_file_name(payload.file, keys),
        )
    title = _opened_name(keys, "type_title", payload.type_title, MAX_TYPE_TITLE_LENGTH)
    name = _opened_name(keys, "name", payload.name, MAX_NAME_LENGTH)
    more_pages = tuple(getattr(payload, "more_pages", ()))
    if title is None or name is None or not all(file_name_readable(f, keys) for f in (payload.file, *more_pages)):
        return None
    return AddedTexts(payload.type_slug, title, name, payload.file, more_pages)


def added_name(payload: AddedPayload | RenamedPayload, keys: PersonKeys) -> str | None:
    """The name an add or a rename asks for (what the store looks up neighbours by)."""
    if isinstance(payload, (DocumentRenamed, DocumentRenamedV2)):
        return read_renamed(payload, keys)
    if _is_plain(payload):
        return payload.name
    return _opened_name(keys, "name", payload.name, MAX_NAME_LENGTH)


def file_name_readable(file: StoredFile, keys: PersonKeys) -> bool:
    """A sealed file name of the live key must open (raises if tampered); one of a forgotten key makes the add
    unreadable as a whole."""
    if file.file_name is None:
        return True
    if sealed_key_id(file.file_name) != keys.key_id:
        return False
    opened = keys.open("file_name", file.file_name)
    if len(opened) > MAX_FILE_NAME_LENGTH:
        raise UncleanText(f"a sealed file_name of owner {keys.owner_id} is too long")
    return True


def with_sealed_file_name(file: StoredFile, keys: PersonKeys) -> StoredFile:
    """A v1 file as the read model keeps it: the file name sealed. A name the API already sealed for this person
    (an upload answer the bot passed on) is kept as it is."""
    if file.file_name is None or _is_sealed_by(file.file_name, keys):
        return file
    return file.model_copy(update={"file_name": keys.seal("file_name", file.file_name)})


def _is_sealed_by(value: str, keys: PersonKeys) -> bool:
    if sealed_key_id(value) != keys.key_id:
        return False
    try:
        keys.open("file_name", value)
    except BrokenCiphertext:
        return False
    return True
