"""Pure decisions: callback data sizes, names, sizes, incoming files, flood verdicts, navigation tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import Chat, Document, Message, PhotoSize
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.clients.api_client import ApiBusy, ApiNotFound, ApiNotYetApplied, ApiUnavailable
from bot.clients.person_store import list_token
from bot.clients.telegram_files import FileTooBig, TelegramDownloadFailed, file_chunks
from bot.handlers.errors import error_values, message_key
from bot.services.limits import EventBudgetSpent
from bot.ui import keyboards
from bot.ui.callbacks import (
    MAX_SEARCH_PAGE,
    DocAction,
    DocCb,
    LangCb,
    ListCb,
    MenuAction,
    MenuCb,
    Origin,
    PickTypeCb,
    RetrySaveCb,
    SearchCb,
    SuggestedNameCb,
    TypeCb,
    TypeUndoCb,
    fits,
)
from bot.ui.i18n import Texts
from bot.ui.presentation import (
    check_name,
    doc_ref,
    file_format,
    human_size,
    incoming_file,
    parse_doc_ref,
    suggest_name,
    too_big,
)
from contracts.api_schemas import DocumentSummary
from contracts.text import MAX_NAME_LENGTH
from service_kit.eventlog import EventLogUnavailable

LONGEST_TOKEN = list_token(2**63, "x" * 200, "c" * 500)


@pytest.mark.parametrize(
    "data",
    [
        *(MenuCb(action=action) for action in MenuAction),
        *(DocCb(action=action, doc=uuid.uuid4().hex) for action in DocAction),
        *(
            DocCb(
                action=action,
                doc=uuid.uuid4().hex,
                back=Origin(search_token=LONGEST_TOKEN, page=MAX_SEARCH_PAGE).pack(),
            )
            for action in DocAction
        ),
        SearchCb(token=LONGEST_TOKEN, page=MAX_SEARCH_PAGE),
        ListCb(token=LONGEST_TOKEN),
        PickTypeCb(token=LONGEST_TOKEN),
        SuggestedNameCb(),
        RetrySaveCb(),
        TypeCb(slug="я" * 31),
        TypeUndoCb(event=uuid.uuid4().hex, kind=LONGEST_TOKEN),
        LangCb(code="ru"),
    ],
)
def test_callback_data_fits_telegram_limit_when_packed_with_longest_values(data: CallbackData) -> None:
    packed = data.pack()
    assert len(packed.encode()) <= 64
    assert type(data).unpack(packed) == data


def test_fits_refuses_when_a_long_slug_would_pass_64_bytes() -> None:
    assert fits(TypeCb(slug="я" * 31)) and not fits(TypeCb(slug="я" * 32))


def test_list_token_is_short_and_stable_when_inputs_repeat() -> None:
    assert list_token(1, "passport", None) == list_token(1, "passport", None)
    assert list_token(1, "passport", None) != list_token(2, "passport", None)
    assert list_token(1, "passport", None) != list_token(1, "passport", "c1")
    assert len(LONGEST_TOKEN) == 12 and ":" not in LONGEST_TOKEN


def test_doc_ref_round_trips_when_given_a_uuid() -> None:
    document_id = str(uuid.uuid4())
    assert parse_doc_ref(doc_ref(document_id)) == document_id


@pytest.mark.parametrize("forged", ["", "xyz", "../../etc", "1" * 31, "g" * 32])
def test_parse_doc_ref_refuses_when_data_is_forged(forged: str) -> None:
    assert parse_doc_ref(forged) is None


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("Scan_01.pdf", "Scan_01"),
        ("archive.tar.gz", "archive.tar"),
        (".bashrc", ".bashrc"),
        ("C:\\Users\\ann\\passport.jpg", "passport"),
        ("dir/x.pdf", "x"),
        (None, None),
        ("", None),
        ("\u0000\u0007.pdf", None),
        ("a" * 300 + ".pdf", "a" * MAX_NAME_LENGTH),
    ],
)
def test_suggest_name_takes_the_stem_when_a_file_has_a_name(file_name: str | None, expected: str | None) -> None:
    assert suggest_name(file_name) == expected


@pytest.mark.parametrize(
    ("raw", "name", "problem"),
    [
        ("  Passport  ", "Passport", None),
        ("", None, "name.empty"),
        ("\u0000\t\n", None, "name.empty"),
        ("a\u0000b", "a b", None),
        ("x" * 129, None, "name.too_long"),
        ("<b>x</b>", "<b>x</b>", None),
    ],
)
def test_check_name_cleans_or_explains_when_a_name_is_typed(raw: str, name: str | None, problem: str | None) -> None:
    result = check_name(raw, MAX_NAME_LENGTH, "name")
    assert (result.name, result.problem) == (name, problem)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, ("size.b", "0")),
        (1023, ("size.b", "1023")),
        (1024, ("size.kb", "1")),
        (1536, ("size.kb", "1.5")),
        (20 * 1024**2, ("size.mb", "20")),
        (3 * 1024**3, ("size.gb", "3")),
    ],
)
def test_human_size_picks_the_unit_when_given_bytes(size: int, expected: tuple[str, str]) -> None:
    assert human_size(size) == expected


def test_too_big_only_when_a_known_size_exceeds_the_limit() -> None:
    assert too_big(11, 10) and not too_big(10, 10) and not too_big(None, 10)


def _message(**fields: Any) -> Message:
    return Message(message_id=1, date=datetime.now(UTC), chat=Chat(id=1, type="private"), **fields)


def test_incoming_file_takes_the_largest_photo_when_sizes_are_sent() -> None:
    sizes = [
        PhotoSize(file_id="big", file_unique_id="b", width=800, height=600, file_size=50),
        PhotoSize(file_id="small", file_unique_id="s", width=90, height=90, file_size=5),
    ]
    file = incoming_file(_message(photo=sizes))
    assert file is not None and file.file_id == "big" and file.is_photo and file.mime_type == "image/jpeg"


def test_incoming_file_defaults_mime_and_name_when_a_forwarded_file_has_none() -> None:
    file = incoming_file(_message(document=Document(file_id="f", file_unique_id="u")))
    assert file is not None and file.file_name is None and file.mime_type == "application/octet-stream"


def test_incoming_file_is_none_when_the_message_has_no_file() -> None:
    assert incoming_file(_message(text="hi")) is None


def _summary(name: str) -> DocumentSummary:
    return DocumentSummary(
        document_id=str(uuid.uuid4()),
        type_slug="t",
        type_title="T",
        name=name,
        size=1,
        mime_type="application/pdf",
        created_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("prev", "next_", "expected"),
    [
        (None, None, []),
        ("p", None, ["browse.prev"]),
        (None, "n", ["browse.next"]),
        ("p", "n", ["browse.prev", "browse.next"]),
    ],
)
def test_document_page_shows_paging_buttons_when_pages_exist(
    prev: str | None, next_: str | None, expected: list[str]
) -> None:
    tr = Texts("en")
    markup = keyboards.document_page(tr, [_summary("a"), _summary("b")], prev, next_, Origin())
    texts = [[button.text for button in row] for row in markup.inline_keyboard]
    assert texts[:2] == [["a"], ["b"]]
    paging = texts[2] if len(texts) == 4 else []
    assert paging == [tr.plain(key) for key in expected]


def test_document_card_offers_a_link_only_when_links_are_enabled() -> None:
    document_id = str(uuid.uuid4())
    with_link = keyboards.document_card(Texts("en"), document_id, TypeCb(slug="t"), links_enabled=True)
    without = keyboards.document_card(Texts("en"), document_id, TypeCb(slug="t"), links_enabled=False)
    assert "🔗 Link" in str(with_link) and "🔗 Link" not in str(without)


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (ApiUnavailable("x"), "error.api_down"),
        (ApiBusy("x"), "error.overloaded"),
        (ApiNotYetApplied(0.1), "error.not_applied"),
        (ApiNotFound("x"), "card.gone"),
        (EventLogUnavailable("x"), "error.stream_down"),
        (RedisConnectionError("x"), "error.busy"),
        (RuntimeError("boom"), "error.generic"),
        (EventBudgetSpent(7), "budget.spent"),
    ],
)
def test_error_message_key_explains_when_a_failure_reaches_the_error_handler(error: Exception, key: str) -> None:
    assert message_key(error) == key


def test_error_message_says_when_to_retry_when_the_event_budget_is_spent() -> None:
    error = EventBudgetSpent(7)
    assert Texts("en")(message_key(error), **error_values(error)).endswith("please try again in 7 min.")


async def test_file_chunks_read_the_disk_when_a_local_bot_api_server_is_used(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 600_000)
    bot = Bot("1:abc")
    chunks = [chunk async for chunk in file_chunks(bot, str(path), limit=600_000, local=True)]
    assert b"".join(chunks) == path.read_bytes() and len(chunks) == 3
    with pytest.raises(FileTooBig):
        _ = [chunk async for chunk in file_chunks(bot, str(path), limit=500_000, local=True)]
    with pytest.raises(TelegramDownloadFailed):
        _ = [chunk async for chunk in file_chunks(bot, str(tmp_path / "missing"), limit=10, local=True)]


@pytest.mark.parametrize(
    ("mime", "file_name", "expected"),
    [
        ("application/pdf", "scan.pdf", "PDF"),
        ("application/octet-stream", "Договор.DOCX", "DOCX"),
        ("image/jpeg", None, "JPG"),
        ("application/octet-stream", None, None),
        ("application/octet-stream", "x", None),
        ("application/pdf", "report.final-version", "PDF"),  # not an extension: the media type tells
        ("text/plain", ".bashrc", "TXT"),
        ("application/zip", "a\\b\\c.zip", "ZIP"),
        ("image/png", "a.пнг", "PNG"),
    ],
)
def test_file_format_names_the_format_from_the_name_or_the_media_type_when_shown(
    mime: str, file_name: str | None, expected: str | None
) -> None:
    assert file_format(mime, file_name) == expected


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("  Passport  p.1\n", "Passport p.1"),
        ("", None),
        ("\u200b", None),
        ("x" * 300, "x" * MAX_NAME_LENGTH),
    ],
)
def test_suggest_name_keeps_a_caption_whole_when_it_is_no_file_name(caption: str, expected: str | None) -> None:
    assert suggest_name(caption, keep_extension=True) == expected
