"""Trash retention in the projection (docs/adr/0014): a deleted document is restorable until its deadline; once the
stream's clock (the latest event time applied) reaches it, the document is gone for every later event, exactly as
for a run whose store purged it already."""

from __future__ import annotations

from datetime import timedelta

from contracts.effects import Effect
from contracts.read_models import DocumentView
from contracts.vocabulary import DocumentStatus
from stream_processors.projections.state import DEFAULT_RETENTION, BatchState, is_expired, ms_floor
from tests.factories import EPOCH, added, at, deleted, document_id_of, restored, started, type_deleted, type_restored
from tests.keyrings import TEST_PEOPLE
from tests.stream_processors.projection_support import apply_all, document, type_key_of

OWNER, OTHER = 1, 2
DAY = 24 * 3600
RETENTION = int(DEFAULT_RETENTION.total_seconds())


def test_apply_event_sets_restorable_until_retention_after_deletion_when_document_deleted() -> None:
    add = added(OWNER, "Паспорт")

    state, _ = apply_all([add, deleted(OWNER, document_id_of(add), step=5)])

    assert document(state, add).restorable_until == at(5) + DEFAULT_RETENTION


def test_apply_event_restores_and_clears_deadline_when_restored_before_deadline() -> None:
    add = added(OWNER, "Паспорт")
    last_moment = restored(OWNER, document_id_of(add), step=5 + RETENTION - 1)

    state, effects = apply_all([add, deleted(OWNER, document_id_of(add), step=5), last_moment])

    assert effects[-1] == Effect.restored
    assert (document(state, add).status, document(state, add).restorable_until) == (DocumentStatus.live, None)


def test_apply_event_answers_unknown_and_drops_document_when_restored_at_deadline() -> None:
    add = added(OWNER, "Паспорт")
    too_late = restored(OWNER, document_id_of(add), step=5 + RETENTION)

    state, effects = apply_all([add, deleted(OWNER, document_id_of(add), step=5), too_late])

    assert effects[-1] == Effect.ignored_unknown
    assert str(document_id_of(add)) not in state.documents


def test_apply_event_keeps_document_purged_when_a_later_event_carries_an_earlier_time() -> None:
    add = added(OWNER, "Паспорт")
    history = [add, deleted(OWNER, document_id_of(add), step=5), started(OTHER, step=5 + 40 * DAY)]
    skewed_restore = restored(OWNER, document_id_of(add), step=6)  # a bot's clock behind the stream's

    state, effects = apply_all([*history, skewed_restore])

    assert effects[-1] == Effect.ignored_unknown
    assert state.clock == at(5 + 40 * DAY)


def test_apply_event_purges_any_persons_document_when_another_persons_event_passes_its_deadline() -> None:
    add, theirs = added(OWNER, "Паспорт"), added(OTHER, "Паспорт", step=1)
    history = [add, theirs, deleted(OWNER, document_id_of(add), step=5), deleted(OTHER, document_id_of(theirs), step=6)]

    state, _ = apply_all([*history, started(OTHER, step=5 + RETENTION)])

    assert set(state.documents) == {str(document_id_of(theirs))}


def test_apply_event_restores_nothing_when_type_restored_after_deadline() -> None:
    keys = TEST_PEOPLE[OWNER]
    add = added(OWNER, "Паспорт", "Passport")
    deletion = type_deleted(keys, "Passport", step=5)
    state, effects = apply_all([add, deletion, type_restored(OWNER, deletion, step=5 + RETENTION + 1)])

    assert effects[-1] == Effect.ignored_nothing_to_restore
    assert state.documents == {}
    assert state.types[f"{OWNER}:{type_key_of(OWNER)}"].live_count == 0


def test_apply_event_gives_type_deleted_documents_a_deadline_when_type_deleted() -> None:
    add = added(OWNER, "Паспорт", "Passport")

    state, _ = apply_all([add, type_deleted(TEST_PEOPLE[OWNER], "Passport", step=7)])

    assert document(state, add).restorable_until == at(7) + DEFAULT_RETENTION


def test_batch_state_of_leaves_out_loaded_document_when_stored_clock_reached_its_deadline() -> None:
    add = added(OWNER, "Паспорт")
    state, _ = apply_all([add, deleted(OWNER, document_id_of(add), step=5)])
    stored = DocumentView.model_validate(document(state, add).model_dump(by_alias=True))

    later = BatchState.of([stored], [], [], keys=TEST_PEOPLE, clock=at(5 + RETENTION))
    earlier = BatchState.of([stored], [], [], keys=TEST_PEOPLE, clock=at(5 + RETENTION - 1))

    assert (later.documents, list(earlier.documents)) == ({}, [stored.id])


def test_is_expired_holds_only_for_deleted_documents_when_clock_reached_deadline() -> None:
    add = added(OWNER, "Паспорт")
    state, _ = apply_all([add])
    live = document(state, add).model_copy(update={"restorable_until": at(1)})

    assert not is_expired(live, at(2))
    assert is_expired(live.model_copy(update={"status": DocumentStatus.deleted}), at(1))
    assert not is_expired(live.model_copy(update={"status": DocumentStatus.deleted}), None)


def test_deadline_after_rounds_to_the_millisecond_when_event_time_has_microseconds() -> None:
    state = BatchState(retention=timedelta(days=2))

    assert state.deadline_after(EPOCH + timedelta(microseconds=1999)) == EPOCH + timedelta(days=2, milliseconds=1)
    assert ms_floor(EPOCH + timedelta(microseconds=999)) == EPOCH
