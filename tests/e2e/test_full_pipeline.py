"""The whole system as real processes: fake Telegram -> ``python -m bot`` -> RabbitMQ stream ->
``python -m stream_processors run`` -> MongoDB -> ``python -m api`` (+ S3) -> back to the bot.

A person adds a document, lists it, fetches it back byte-identical (by Telegram file_id, and uploaded from
the API's file endpoint when Telegram refuses the id), renames it, searches it, deletes it and undoes that,
organises types, pages through a type and through search results (pages of 2) and finds Back from a card on the
page they opened it from, and exports every page of their documents as a zip (/export and the menu's button), in
polling and in webhook mode; an album becomes one document of several pages, sent back as an album, a page is added,
and the same album again is told it is kept. A group the bot is a member of sees one explanation and nothing of
anybody's documents; a rename left open while the person goes to another document never applies to the first one.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.ui.callbacks import DocCb
from bot.ui.i18n import Texts
from contracts.events import (
    DocumentAddedV3,
    DocumentMoved,
    DocumentPageAdded,
    DocumentRenamedV2,
    DocumentTypeDeleted,
    DocumentTypeRenamed,
    DocumentTypeRestored,
    EventEnvelope,
)
from tests.chaos.observe import applied_event_ids, stream_events, wait_caught_up
from tests.chaos.report import FaultRow, fault_row
from tests.e2e.processes import Chat, markup_of, text_of
from tests.e2e.system import RunningSystem, running_system
from tests.fake_telegram.server import BotCall, FakeTelegram
from tests.infra.infra_files import alert_rules, dashboard_exprs, dashboard_files, load_json, metric_names

pytestmark = pytest.mark.integration
EN = Texts("en")
CONTENT = b"%PDF-1.7\n" + os.urandom(300_000)
# Pages of 2, so a few documents make several pages of a type and of search results; a person adding them and
# paging through taps faster than the default flood limit (30 updates in 10 s) lets through, which
# tests/bot/test_failures.py proves on its own.
BOT_SETTINGS = {"PAGE_SIZE": "2", "FLOOD_LIMIT": "200"}


@pytest.fixture(scope="module", params=["polling", "webhook"])
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningSystem]:
    log_dir = tmp_path_factory.mktemp(f"full-{request.param}")
    async with running_system(request.param, log_dir, bot_overrides=BOT_SETTINGS) as running:
        yield running


async def test_person_adds_lists_fetches_renames_searches_deletes_and_undoes_when_using_the_bot(
    system: RunningSystem,
) -> None:
    ann = system.person(801)
    await ann.says("/start")
    await ann.presses("Add document")
    await ann.says("Passport")
    await ann.says("Main passport")
    saved = await ann.sends_document(CONTENT, "passport.pdf")
    assert text_of(saved) == EN("add.saved", name="Main passport", type="Passport")

    await ann.says("/documents")
    assert ann.buttons()[0][0] == "Passport (1)"
    await ann.presses("Passport")
    opened = await ann.presses("Main passport")
    assert text_of(opened).startswith(
        "📄 <b>Main passport</b>\nType: Passport\nFile: passport.pdf\nFormat: PDF, 293 KB\nAdded: "
    )
    assert text_of(opened).endswith(" MSK")  # the bot's time zone, named

    by_id = await ann.presses("Get file")
    assert by_id.method == "sendDocument" and by_id.uploaded is None  # Telegram knew the file_id
    system.telegram.refused_file_ids.add(str(by_id.params["document"]))
    uploaded = await ann.presses("Get file")
    assert uploaded.uploaded == CONTENT  # fetched from the API's file endpoint, byte-identical

    await ann.presses("Rename")
    renamed = await ann.says("Old passport")
    assert text_of(renamed) == "✅ Renamed to “Old passport”."
    found = await ann.says("/search old pass")
    assert text_of(found) == EN("search.results", query="old pass") and ann.buttons()[0][0] == "Old passport · Passport"

    await ann.presses("Old passport")
    await ann.presses("Delete")
    deleted = await ann.presses("Yes, delete")
    before, after = EN("delete.done_until", name="Old passport", until="\0").split("\0")
    until = text_of(deleted).removeprefix(before).removesuffix(after)  # the deadline the processor set, read back
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} MSK", until), text_of(deleted)
    with_undo = ann.keyboard_message
    gone = await ann.says("/search old pass")
    assert text_of(gone) == "Nothing found for “old pass”."

    ann.keyboard_message = with_undo  # the person scrolls back up to the "Undo" button
    restored = await ann.presses("Undo")
    assert text_of(restored) == "✅ Restored “Old passport”."
    back = await ann.says("/search old pass")
    assert text_of(back) == EN("search.results", query="old pass")


async def _adds(ann: Chat, type_title: str, name: str, content: bytes, type_exists: bool = False) -> None:
    await ann.says("/menu")
    await ann.presses("Add document")
    if type_exists:
        await ann.presses(type_title)
    else:
        await ann.says(type_title)
    await ann.says(name)
    saved = await ann.sends_document(content, f"{name}.pdf")
    assert text_of(saved) == EN("add.saved", name=name, type=type_title)


async def _handled(system: RunningSystem, endpoint: str, status: str, count: int) -> None:
    """Wait until the bot counted ``count`` updates handled by ``endpoint`` (each is counted once handled)."""
    sample = f'docvault_requests_total{{endpoint="{endpoint}",service="bot",status="{status}"}} {float(count)}'
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(200):
            if sample in (await http.get(system.url("bot", "/metrics"))).text:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"the bot did not count {count} updates of {endpoint}")


async def _person_row(
    system: RunningSystem, ann: Chat, fault: str, checked: str
) -> tuple[FaultRow, list[EventEnvelope]]:
    """The person's events in the stream (all confirmed to the bot) against the processor's ledger."""
    await wait_caught_up(system.rabbit, system.mongo)
    events = [event for event in await stream_events(system.rabbit) if event.owner_id == ann.user_id]
    row = fault_row(fault, checked, {str(e.event_id) for e in events}, await applied_event_ids(system.mongo))
    return row, events


async def test_group_sees_one_explanation_and_nothing_personal_when_members_ask_there(system: RunningSystem) -> None:
    telegram, ann, bob = system.telegram, system.person(811), system.person(812)
    await _adds(ann, "Receipts", "Lunch", b"%PDF lunch " + os.urandom(64))
    await ann.says("/documents")
    ann_types = ann.keyboard_message
    assert ann_types is not None and ann.buttons()[0][0] == "Receipts (1)"
    group = FakeTelegram.group(-1_000_000 - ann.user_id)
    mark = len(telegram.calls)

    for person, text in ((ann, "/documents"), (bob, "/documents"), (ann, "/start")):
        await telegram.user_says_in(group, person.user_id, text)
    in_group = telegram.message_in(group, "Your documents by type:", ann_types["reply_markup"])
    refused = [
        await bob.presses("Receipts", on=in_group),
        await ann.presses("Receipts", on=in_group),
        await bob.presses("Receipts", on=ann_types),
    ]  # Ann's list forwarded to Bob
    await _handled(system, "message:private_chats.explain", "refused", 3)

    to_group = [c for c in telegram.calls[mark:] if c.params.get("chat_id") == str(group["id"])]
    assert [(c.method, text_of(c)) for c in to_group] == [("sendMessage", EN("private.group"))]
    alert = ("answerCallbackQuery", EN.plain("private.button"), "true")
    assert [(c.method, c.params.get("text"), c.params.get("show_alert")) for c in refused] == [alert] * 3
    assert not [c for c in telegram.calls[mark:] if c.method in ("editMessageText", "sendDocument")]
    row, events = await _person_row(
        system,
        ann,
        "group chat: a member asks for documents, buttons pressed there and forwarded",
        "one explanation per group; alerts; no list, file or event",
    )
    assert [type(e.payload) for e in events] == [DocumentAddedV3]  # nothing from the group
    assert (row.events_in, row.events_applied, row.lost, row.duplicated) == (1, 1, 0, 0)


async def test_rename_is_abandoned_when_the_person_opens_another_document_before_typing(system: RunningSystem) -> None:
    ann = system.person(821)
    await _adds(ann, "Receipts", "Alpha", b"%PDF alpha " + os.urandom(64))
    await _adds(ann, "Receipts", "Bravo", b"%PDF bravo " + os.urandom(64), type_exists=True)
    await ann.says("/documents")
    await ann.presses("Receipts")
    page = ann.keyboard_message
    await ann.says("/search alpha")
    await ann.presses("Alpha")
    await ann.presses("Rename")

    await ann.presses("Bravo", on=page)  # the page of Receipts, still on screen further up
    sent = await ann.presses("Get file")
    typed = await ann.says("hello")

    assert sent.method == "sendDocument" and sent.params["caption"] == "Bravo"
    assert text_of(typed) == EN("search.nothing_at_menu", query="hello")
    found = await ann.says("/search alpha")
    assert text_of(found) == EN("search.results", query="alpha") and ann.buttons()[0][0] == "Alpha · Receipts"
    row, events = await _person_row(
        system,
        ann,
        "abandoned dialog: rename of A left open, B opened and fetched, then text typed",
        "A keeps its name; the text answered as at the menu",
    )
    assert not [e for e in events if isinstance(e.payload, DocumentRenamedV2)]
    assert [type(e.payload) for e in events] == [DocumentAddedV3, DocumentAddedV3]
    assert (row.events_in, row.events_applied, row.lost, row.duplicated) == (2, 2, 0, 0)


async def test_person_moves_a_document_renames_its_type_deletes_the_type_and_undoes_that_when_using_the_bot(
    system: RunningSystem,
) -> None:
    ann = system.person(831)
    await _adds(ann, "Receipts", "Lunch", b"%PDF lunch " + os.urandom(64))
    await _adds(ann, "Travel", "Visa", b"%PDF visa " + os.urandom(64))
    await ann.says("/search lunch")
    await ann.presses("Lunch")
    asked = await ann.presses("Move")
    assert text_of(asked) == EN("move.ask", name="Lunch")
    assert [text for text, _ in ann.buttons()] == ["Travel", EN.plain("move.new_type"), EN.plain("card.back")]
    moved = await ann.presses("Travel")
    assert text_of(moved) == EN("move.done", name="Lunch", type="Travel")

    card = await ann.presses("Open")
    assert "\nType: Travel\n" in text_of(card)
    await ann.presses("Move")
    await ann.presses("New type")
    moved = await ann.says("Food")
    assert text_of(moved) == EN("move.done", name="Lunch", type="Food")
    await ann.says("/documents")
    assert sorted(text for text, _ in ann.buttons())[:2] == ["Food (1)", "Travel (1)"]  # Receipts emptied, unlisted

    await ann.presses("Food")
    await ann.presses("Rename type")
    renamed = await ann.says("Meals")
    assert text_of(renamed) == EN("type.renamed", title="Meals")
    page = await ann.presses("Open type")
    assert text_of(page) == EN("browse.type_single", title="Meals") and ann.buttons()[0][0] == "Lunch"

    await ann.presses("Delete type")
    deleted = await ann.presses("Yes, delete")
    assert text_of(deleted) == EN("type.deleted", title="Meals")
    with_undo = ann.keyboard_message
    gone = await ann.says("/search lunch")
    assert text_of(gone) == EN("search.nothing", query="lunch")
    ann.keyboard_message = with_undo  # the person scrolls back up to the "Undo" button
    restored = await ann.presses("Undo")
    assert text_of(restored) == EN("type.restored", title="Meals")
    page = await ann.presses("Open type")
    assert text_of(page) == EN("browse.type_single", title="Meals") and ann.buttons()[0][0] == "Lunch"

    row, events = await _person_row(
        system, ann, "organising: move twice, rename the type, delete it, Undo", "every event applied once"
    )
    assert [type(e.payload) for e in events] == [
        DocumentAddedV3,
        DocumentAddedV3,
        DocumentMoved,
        DocumentMoved,
        DocumentTypeRenamed,
        DocumentTypeDeleted,
        DocumentTypeRestored,
    ]
    assert (row.events_in, row.events_applied, row.lost, row.duplicated) == (7, 7, 0, 0)


async def _archive_sent(ann: Chat, start: Callable[[], Awaitable[BotCall]]) -> zipfile.ZipFile:
    """What ``start`` (a command or a button) makes the bot answer: "preparing", then the zip as a document (its
    menu becomes the keyboard pressed next); the zip opened, every CRC checked."""
    mark = len(ann.telegram.calls)
    preparing = await start()
    sent = await ann.telegram.wait_for_call(
        lambda call: call.method == "sendDocument" and call.params.get("chat_id") == str(ann.user_id), 60, mark
    )
    assert text_of(preparing) == EN("export.preparing", n=2) and text_of(sent) == EN("export.caption", n=2)
    assert sent.uploaded is not None and markup_of(sent)["inline_keyboard"]
    ann.keyboard_message = sent.result | {"reply_markup": markup_of(sent)}
    archive = zipfile.ZipFile(io.BytesIO(sent.uploaded))
    assert archive.testzip() is None
    return archive


async def test_person_exports_every_page_of_their_documents_as_a_zip_when_asking_by_command_or_menu(
    system: RunningSystem,
) -> None:
    ann = system.person(841)
    first, second, lease = (b"%PDF page one " + os.urandom(70_000), b"%PDF page two", b"%PDF lease " + os.urandom(99))
    await _adds(ann, "Passport", "Main", first)
    await ann.presses("Open")
    await ann.presses("Add page")
    added = await ann.sends_document(second, "back.pdf")
    assert text_of(added) == EN("pages.added", name="Main", count=1)
    await _adds(ann, "Contracts", "Lease", lease)

    by_command = await _archive_sent(ann, lambda: ann.says("/export"))
    by_button = await _archive_sent(ann, lambda: ann.presses(EN.plain("menu.export")))

    for archive in (by_command, by_button):
        assert archive.namelist() == [
            "Passport/Main/page 01.pdf",
            "Passport/Main/page 02.pdf",
            "Contracts/Lease.pdf",
            "index.json",
            "index.csv",
        ]
        assert [archive.read(name) for name in archive.namelist()[:3]] == [first, second, lease]
        documents = json.loads(archive.read("index.json"))["documents"]
        assert [
            (d["type"], d["name"], d["pages"], [p["original_file_name"] for p in d["files"]]) for d in documents
        ] == [
            ("Passport", "Main", 2, ["Main.pdf", "back.pdf"]),
            ("Contracts", "Lease", 1, ["Lease.pdf"]),
        ]
        table = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))
        assert [(row["name"], row["page"], row["file"]) for row in table] == [
            ("Main", "1", "Passport/Main/page 01.pdf"),
            ("Main", "2", "Passport/Main/page 02.pdf"),
            ("Lease", "1", "Contracts/Lease.pdf"),
        ]


def _documents_shown(ann: Chat) -> list[str]:
    """The document buttons of the screen the person looks at (a page of a type or of search results)."""
    return [text for text, data in ann.buttons() if data.startswith(f"{DocCb.__prefix__}:")]


async def _opens_a_card_and_goes_back(ann: Chat, button: str, name: str) -> BotCall:
    """Open the card behind ``button`` (the document ``name``) and press its Back; the screen Back led to."""
    card = await ann.presses(button)
    assert text_of(card).startswith(f"📄 <b>{name}</b>\nType: Bills\n"), text_of(card)
    return await ann.presses(EN.plain("card.back"))


async def test_back_returns_to_the_page_the_card_was_opened_from_when_paging_a_type_and_search_results(
    system: RunningSystem,
) -> None:
    ann = system.person(861)
    added = [f"Bill {n}" for n in (3, 1, 5, 2, 4)]  # a type lists in the order added, search by name
    for n, name in enumerate(added):
        await _adds(ann, "Bills", name, f"%PDF {name} ".encode() + os.urandom(64), type_exists=n > 0)

    await ann.says("/documents")
    first = await ann.presses("Bills")
    assert text_of(first) == EN("browse.type_page", title="Bills", page=1, pages=3)
    listed = [_documents_shown(ann)]
    second = await ann.presses(EN.plain("browse.next"))
    assert text_of(second) == EN("browse.type_page", title="Bills", page=2, pages=3)
    listed.append(_documents_shown(ann))
    back = await _opens_a_card_and_goes_back(ann, listed[1][1], listed[1][1])
    assert text_of(back) == EN("browse.type_page", title="Bills", page=2, pages=3)
    assert _documents_shown(ann) == listed[1]
    previous = await ann.presses(EN.plain("browse.prev"))  # the page Back led to still knows its neighbours
    assert text_of(previous) == EN("browse.type_page", title="Bills", page=1, pages=3)
    assert _documents_shown(ann) == listed[0]
    await ann.presses(EN.plain("browse.next"))
    last = await ann.presses(EN.plain("browse.next"))
    assert text_of(last) == EN("browse.type_page", title="Bills", page=3, pages=3)
    assert EN.plain("browse.next") not in [text for text, _ in ann.buttons()]
    listed.append(_documents_shown(ann))
    assert listed == [["Bill 3", "Bill 1"], ["Bill 5", "Bill 2"], ["Bill 4"]]

    found = await ann.says("/search bill")
    assert text_of(found) == EN("search.results_page", query="bill", page=1, pages=3)
    results = [_documents_shown(ann)]
    second = await ann.presses(EN.plain("browse.next"))
    assert text_of(second) == EN("search.results_page", query="bill", page=2, pages=3)
    results.append(_documents_shown(ann))
    labels = {EN.plain("search.result_button", name=name, type="Bills"): name for name in added}
    back = await _opens_a_card_and_goes_back(ann, results[1][0], labels[results[1][0]])
    assert text_of(back) == EN("search.results_page", query="bill", page=2, pages=3)
    assert _documents_shown(ann) == results[1]
    last = await ann.presses(EN.plain("browse.next"))
    assert text_of(last) == EN("search.results_page", query="bill", page=3, pages=3)
    results.append(_documents_shown(ann))
    assert EN.plain("browse.next") not in [text for text, _ in ann.buttons()]
    assert sum(results, []) == sorted(labels)  # every result once, in name order across the pages


PAGES = [b"%PDF page " + bytes([n]) + os.urandom(2_000) for n in range(1, 4)]


def _albums_sent(system: RunningSystem, ann: Chat, mark: int) -> list[list[bytes]]:
    """The bytes of every album (sendMediaGroup) the bot sent the person since call ``mark``."""
    calls = system.telegram.calls[mark:]
    return [c.pages for c in calls if c.method == "sendMediaGroup" and c.params["chat_id"] == str(ann.user_id)]


async def test_person_saves_an_album_as_one_document_gets_it_back_as_an_album_and_adds_a_page_when_using_the_bot(
    system: RunningSystem,
) -> None:
    ann, telegram = system.person(851), system.telegram
    await ann.says("/add")
    await ann.says("Contracts")
    await ann.says("Lease")
    saved = await ann.sends_album([(data, f"lease-{n}.pdf") for n, data in enumerate(PAGES, 1)])
    assert text_of(saved) == EN("add.saved", name="Lease", type="Contracts")

    card = await ann.presses("Open")
    assert EN("card.pages", count=3) in text_of(card)
    mark = len(telegram.calls)
    sent = await ann.presses("Get file")
    assert text_of(sent) == EN("file.pages_sent", name="Lease") and _albums_sent(system, ann, mark) == [PAGES]
    [by_id] = [c for c in telegram.calls[mark:] if c.method == "sendMediaGroup"]
    telegram.refused_file_ids.update(item["media"] for item in json.loads(by_id.params["media"]))
    mark = len(telegram.calls)
    await ann.presses("Get file", on=card.result)
    assert _albums_sent(system, ann, mark)[-1] == PAGES  # refused ids: uploaded from the API's page files, in order

    await ann.presses("Add page", on=card.result)
    added = await ann.sends_document(b"%PDF page 4 " + os.urandom(500), "lease-4.pdf")
    assert text_of(added) == EN("pages.added", name="Lease", count=1)
    card = await ann.presses("Open")
    assert EN("card.pages", count=4) in text_of(card)

    await ann.says("/add")
    await ann.says("Contracts")
    await ann.says("Lease again")
    again = await ann.sends_album([(data, f"copy-{n}.pdf") for n, data in enumerate(PAGES, 1)])
    assert text_of(again) == EN("album.duplicate", name="Lease", type="Contracts")  # the processor's decision

    row, events = await _person_row(
        system, ann, "album: saved, fetched twice, a page added, sent again", "every event applied once"
    )
    assert [type(e.payload) for e in events] == [DocumentAddedV3, DocumentPageAdded, DocumentAddedV3]
    assert (row.events_in, row.events_applied, row.lost, row.duplicated) == (3, 3, 0, 0)


def exported_names(exposition: str) -> set[str]:
    """Every sample name a /metrics page can carry, including families not observed yet."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "info": ("_info",),
        "unknown": ("",),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
    }
    return {
        family.name + suffix
        for family in text_string_to_metric_families(exposition)
        for suffix in suffixes.get(family.type, ("",))
    }


async def test_services_export_every_metric_the_dashboards_and_alerts_read_when_running(system: RunningSystem) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        pages = [(await http.get(url)).text for url in system.metrics_urls]
    exported = set().union(*(exported_names(page) for page in pages))
    exprs = [rule["expr"] for rule in alert_rules()]
    exprs += [expr for path in dashboard_files() for expr in dashboard_exprs(load_json(path))]
    used = set().union(*(metric_names(expr) for expr in exprs))

    ours = {name for name in used if not name.startswith("rabbitmq_") and name != "up"}
    assert ours, "the dashboards and alerts read no DocVault metric at all"
    assert ours - exported == set()
