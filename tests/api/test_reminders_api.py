"""Valid-until reads against read models the real processor made: a person's "expiring soon" list and the
reminders due for the bot's sender."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest

from tests import factories as f
from tests.api.support import Projector

pytestmark = pytest.mark.integration

OWNER, OTHER = 412845671, 900000001
BASE = f"/v1/owners/{OWNER}"
DUE = "/v1/reminders/due"
TODAY = date(2031, 3, 1)


async def _dated(projector: Projector, owner: int, name: str, day: date | None, step: int) -> uuid.UUID:
    add = f.added(owner, name, content=f"{owner}-{name}", step=step)
    await projector.apply(add, f.valid_until_set(owner, f.document_id_of(add), day, step + 1))
    return f.document_id_of(add)


async def test_expiring_lists_live_documents_in_the_window_soonest_first_when_dated(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    await projector.apply(f.started(OWNER, "en"), f.started(OTHER, "ru"))
    await _dated(projector, OWNER, "Late", date(2031, 3, 31), 1)
    await _dated(projector, OWNER, "Soon", date(2031, 3, 2), 3)
    await _dated(projector, OWNER, "Today", TODAY, 5)
    await _dated(projector, OWNER, "Far", date(2031, 4, 1), 7)
    await _dated(projector, OWNER, "Past", date(2031, 2, 28), 9)
    await _dated(projector, OWNER, "Undated", None, 11)
    gone = await _dated(projector, OWNER, "Gone", date(2031, 3, 3), 13)
    await projector.apply(f.deleted(OWNER, gone, 15))
    await _dated(projector, OTHER, "Theirs", date(2031, 3, 5), 17)

    answer = await api.get(f"{BASE}/documents/expiring", params={"on": "2031-03-01", "within_days": 30})

    assert answer.status_code == 200, answer.text
    assert [(i["name"], i["valid_until"]) for i in answer.json()["items"]] == [
        ("Today", "2031-03-01"),
        ("Soon", "2031-03-02"),
        ("Late", "2031-03-31"),
    ]


async def test_expiring_shows_nothing_when_person_never_stored_anything(api: httpx.AsyncClient) -> None:
    answer = await api.get(f"{BASE}/documents/expiring", params={"on": "2031-03-01"})

    assert (answer.status_code, answer.json()) == (200, {"items": []})


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"on": "01.03.2031"},
        {"on": "2031-02-30"},
        {"on": "9999-12-31"},
        {"on": "1969-12-31"},
        {"on": "2031-03-01T00:00:00"},
        {"on": "2031-03-01", "within_days": "-1"},
        {"on": "2031-03-01", "within_days": "3661"},
        {"on": "2031-03-01", "within_days": "x" * 5000},
    ],
    ids=["missing", "dotted", "no-such-day", "far-future", "before-1970", "datetime", "negative", "too-wide", "huge"],
)
async def test_expiring_answers_422_when_the_window_is_malformed_or_out_of_range(
    api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    answer = await api.get(f"{BASE}/documents/expiring", params=params)

    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request"), answer.text


async def test_due_lists_the_latest_unsent_reminder_of_every_person_when_its_day_came(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    await projector.apply(f.started(OWNER, "en"), f.started(OTHER, "ru"))
    month = await _dated(projector, OWNER, "Month", date(2031, 3, 31), 1)
    await _dated(projector, OWNER, "Week", date(2031, 3, 6), 3)
    await _dated(projector, OTHER, "Неделя", date(2031, 3, 8), 5)
    await _dated(projector, OWNER, "Later", date(2031, 4, 1), 7)
    sent = await _dated(projector, OWNER, "Sent", date(2031, 3, 20), 9)
    await projector.apply(f.reminder_sent(OWNER, sent, date(2031, 3, 20), 30, 11))

    answer = await api.get(DUE, params={"on": "2031-03-01", "days": "30,7"})

    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [(i["owner_id"], i["name"], i["days_before"], i["valid_until"], i["language"]) for i in items] == [
        (OWNER, "Week", 7, "2031-03-06", "en"),
        (OTHER, "Неделя", 7, "2031-03-08", "ru"),
        (OWNER, "Month", 30, "2031-03-31", "en"),
    ]
    assert items[2]["document_id"] == str(month)


async def test_due_leaves_a_reminder_out_when_it_was_recorded_twice(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    week = await _dated(projector, OWNER, "Week", date(2031, 3, 6), 1)
    await projector.apply(f.reminder_sent(OWNER, week, date(2031, 3, 6), 7, 3))
    await projector.apply(f.reminder_sent(OWNER, week, date(2031, 3, 6), 7, 4))

    answer = await api.get(DUE, params={"on": "2031-03-01", "days": "30,7"})

    assert answer.json() == {"items": []}


async def test_due_answers_at_most_limit_reminders_when_more_are_due(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    for index in range(3):
        await _dated(projector, OWNER, f"Doc {index}", date(2031, 3, 2 + index), 2 * index)

    answer = await api.get(DUE, params={"on": "2031-03-01", "days": "7", "limit": "2"})

    assert [i["name"] for i in answer.json()["items"]] == ["Doc 0", "Doc 1"]


@pytest.mark.parametrize(
    "params",
    [
        {"on": "2031-03-01"},
        {"days": "30,7"},
        {"on": "2031-03-01", "days": ""},
        {"on": "2031-03-01", "days": "30;7"},
        {"on": "2031-03-01", "days": "-7"},
        {"on": "2031-03-01", "days": "400"},
        {"on": "2031-03-01", "days": ",".join(["1"] * 11)},
        {"on": "2100-01-01", "days": "7"},
        {"on": "2031-03-01", "days": "7", "limit": "0"},
    ],
    ids=["no-days", "no-day", "empty", "semicolon", "negative", "over-a-year", "too-many", "past-2099", "limit-0"],
)
async def test_due_answers_422_when_the_query_is_malformed(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    answer = await api.get(DUE, params=params)

    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request"), answer.text


async def test_due_answers_401_when_the_token_is_missing(api: httpx.AsyncClient) -> None:
    answer = await api.get(DUE, params={"on": "2031-03-01", "days": "7"}, headers={"Authorization": ""})

    assert answer.status_code == 401
