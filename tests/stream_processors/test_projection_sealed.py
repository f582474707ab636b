"""Projections over sealed (v2) events and over v1 text: what the read models keep, forgotten and tampered values."""

from __future__ import annotations

import json

import pytest

from contracts.codec import decode_envelope_json, envelope_to_json
from contracts.events import DocumentAdded, EventEnvelope, StoredFile
from service_kit.crypto import BrokenCiphertext, PersonKeys
from stream_processors.projections import apply_event
from stream_processors.projections.personal import UncleanText
from stream_processors.projections.state import BatchState, MissingKey
from tests.factories import (
    added,
    as_read,
    deleted,
    document_id_of,
    renamed,
    restored,
    sealed_added,
    sealed_renamed,
)
from tests.keyrings import TEST_PEOPLE
from tests.stream_processors.projection_support import apply_all, document, name_of, opened, snapshot, type_key_of

OWNER = 412845671
KEYS = TEST_PEOPLE[OWNER]
FORGOTTEN = PersonKeys(OWNER, bytes(32), "00000000000000aa")  # a key the person no longer has


def _decoded(event: EventEnvelope) -> EventEnvelope:
    return decode_envelope_json(envelope_to_json(event))


def test_apply_event_stores_sealed_and_keyed_forms_when_sealed_add_applied() -> None:
    add = sealed_added(KEYS, "Паспорт РФ", type_title="Паспорта", file_name="скан.pdf")

    state, effects = apply_all([_decoded(add)])

    doc = document(state, add)
    assert effects == ["created"]
    assert (opened(doc), opened(doc, "type_title"), doc.type_slug) == (
        "Паспорт РФ",
        "Паспорта",
        type_key_of(OWNER, "Паспорта"),
    )
    assert doc.file.file_name is not None and KEYS.open("file_name", doc.file.file_name) == "скан.pdf"
    assert doc.content_key == f"{OWNER}|{doc.file.content_id}" and doc.file.sha256 is None


def test_apply_event_stores_what_a_v1_add_of_the_same_text_stores_when_sealed() -> None:
    """A v1 add and a sealed add of the same text (same id and time) leave byte-equal documents and types."""
    plain = added(OWNER, "Паспорт", type_title="Паспорта", content="x")
    sealed = sealed_added(KEYS, "Паспорт", type_title="Паспорта", content="x", document_id=document_id_of(plain))

    plain_state, _ = apply_all([_decoded(plain)])
    sealed_state, _ = apply_all([_decoded(sealed)])

    plain_doc, sealed_doc = document(plain_state, plain), document(sealed_state, sealed)
    assert (
        plain_doc.name,
        plain_doc.name_key,
        plain_doc.search_prefixes,
        plain_doc.type_slug,
        plain_doc.type_title,
    ) == (sealed_doc.name, sealed_doc.name_key, sealed_doc.search_prefixes, sealed_doc.type_slug, sealed_doc.type_title)
    assert plain_doc.file.file_name == KEYS.seal("file_name", "scan.pdf")


def test_apply_event_keeps_no_typed_text_in_read_models_when_v1_events_applied() -> None:
    add = added(OWNER, "Маркер-Zebra", type_title="Маркеры-Yak", content="c")
    state, _ = apply_all([_decoded(add), _decoded(renamed(OWNER, document_id_of(add), "Маркер-Quokka", step=1))])

    stored = str(snapshot(state)).lower()

    assert [word for word in ("zebra", "yak", "quokka", "маркер", "scan.pdf") if word in stored] == []
    assert name_of(state, add) == "Маркер-Quokka"


def test_apply_event_gives_byte_equal_writes_when_history_replayed() -> None:
    first = sealed_added(KEYS, "Паспорт", content="a")
    history = [
        first,
        sealed_added(KEYS, "Паспорт", content="b", step=1),
        added(OWNER, "паспорт", step=2),
        sealed_renamed(KEYS, document_id_of(first), "Виза", step=3),
        deleted(OWNER, document_id_of(first), step=4),
        restored(OWNER, document_id_of(first), step=5),
    ]
    events = [_decoded(event) for event in history]

    once, once_effects = apply_all(events)
    again, again_effects = apply_all(events)

    assert (once.document_writes, once_effects) == (again.document_writes, again_effects)
    assert [name_of(once, event) for event in history[:3]] == ["Виза", "Паспорт (2)", "паспорт (3)"]


def test_apply_event_bumps_link_generation_when_renamed_and_deleted_and_keeps_it_when_restored() -> None:
    add = sealed_added(KEYS, "Паспорт")
    document_id = document_id_of(add)
    steps = [
        sealed_renamed(KEYS, document_id, "Виза", step=1),
        sealed_renamed(KEYS, document_id, "Виза", step=2),
        deleted(OWNER, document_id, step=3),
        restored(OWNER, document_id, step=4),
    ]
    state, _ = apply_all([add])

    generations = []
    for offset, event in enumerate(steps, start=1):
        apply_event(state, event, offset)
        generations.append(document(state, add).link_generation)

    assert generations == [1, 1, 2, 2]


def test_apply_event_ignores_add_and_rename_when_sealed_under_forgotten_key() -> None:
    add = sealed_added(KEYS, "Паспорт")
    state, _ = apply_all([add])
    before = snapshot(state)

    effects = [
        apply_event(state, sealed_added(FORGOTTEN, "Старый"), 1),
        apply_event(state, sealed_renamed(FORGOTTEN, document_id_of(add), "Старое имя"), 2),
    ]

    assert effects == ["ignored_forgotten", "ignored_forgotten"]
    assert snapshot(state) == before


def _tampered(sealed: str) -> str:
    head, body = sealed.rsplit(".", 1)
    return f"{head}.{'A' if body[0] != 'A' else 'B'}{body[1:]}"


@pytest.mark.parametrize("field", ["name", "type_title", "file_name"])
def test_apply_event_raises_broken_ciphertext_when_sealed_value_of_live_key_tampered(field: str) -> None:
    event = sealed_added(KEYS, "Паспорт")
    payload = event.payload.model_dump()
    if field == "file_name":
        payload["file"]["file_name"] = _tampered(payload["file"]["file_name"])
    else:
        payload[field] = _tampered(payload[field])
    raw = json.loads(envelope_to_json(event))
    raw["payload"] = json.loads(json.dumps(payload, default=str))

    with pytest.raises(BrokenCiphertext):
        apply_event(BatchState(keys=TEST_PEOPLE), decode_envelope_json(json.dumps(raw).encode()), 0)


def test_apply_event_refuses_sealed_name_when_it_opens_to_unclean_text() -> None:
    event = sealed_renamed(KEYS, document_id_of(added(OWNER, "x")), "Паспорт")
    add = added(OWNER, "Паспорт")
    raw = json.loads(envelope_to_json(event))
    raw["payload"]["document_id"] = str(document_id_of(add))
    raw["payload"]["name"] = KEYS.seal("name", "  two  spaces ")
    state, _ = apply_all([add])

    with pytest.raises(UncleanText):
        apply_event(state, decode_envelope_json(json.dumps(raw).encode()), 1)


def test_apply_event_keeps_file_name_when_v1_add_carries_one_sealed_by_the_api() -> None:
    add = added(OWNER, "Паспорт")
    assert isinstance(add.payload, DocumentAdded)
    sealed_name = KEYS.seal("file_name", "IMG_1.jpg")
    file = StoredFile.model_validate({**add.payload.file.model_dump(), "file_name": sealed_name})
    echoed = add.model_copy(update={"payload": add.payload.model_copy(update={"file": file})})

    state, _ = apply_all([as_read(echoed)])

    assert document(state, add).file.file_name == sealed_name


def test_apply_event_uses_listed_type_when_v1_add_echoes_keyed_slug() -> None:
    first = added(OWNER, "Паспорт", type_title="Паспорта")
    echo = added(OWNER, "Виза", type_title="Паспорта", step=1)
    echo = echo.model_copy(
        update={"payload": echo.payload.model_copy(update={"type_slug": type_key_of(OWNER, "Паспорта")})}
    )

    state, _ = apply_all([first, echo])

    assert document(state, first).type_slug == document(state, echo).type_slug
    assert len(state.types) == 1


def test_apply_event_raises_missing_key_when_no_key_handed_in() -> None:
    with pytest.raises(MissingKey):
        apply_event(BatchState(), added(OWNER, "Паспорт"), 0)
