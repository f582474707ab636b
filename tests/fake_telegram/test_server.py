"""The fake Bot API server behaves like Telegram where the bot depends on it (checked with aiogram's client)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError, TelegramRetryAfter
from aiogram.types import BotCommand, BufferedInputFile, InputMediaDocument, InputMediaPhoto
from aiohttp import web

from bot.telegram.session import telegram_session
from tests.fake_telegram.server import SECRET_HEADER, FakeTelegram

TOKEN = "4242:FAKE-token"


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTelegram, str]]:
    telegram = FakeTelegram(TOKEN)
    runner, url = await telegram.start()
    yield telegram, url
    await runner.cleanup()


@pytest.fixture
async def client(fake: tuple[FakeTelegram, str]) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=telegram_session(fake[1]))
    yield bot
    await bot.session.close()


async def test_fake_long_polls_until_an_update_arrives_when_none_is_pending(
    fake: tuple[FakeTelegram, str], client: Bot
) -> None:
    waiting = asyncio.create_task(client.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await fake[0].user_says(7, "hello")
    [update] = await asyncio.wait_for(waiting, 2)
    assert update.message is not None and update.message.text == "hello"
    assert await client.get_updates(offset=update.update_id + 1, timeout=0) == []


async def test_fake_refuses_identical_edits_when_nothing_changed(fake: tuple[FakeTelegram, str], client: Bot) -> None:
    sent = await client.send_message(7, "same")
    plain = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake[1])))
    try:
        with pytest.raises(TelegramBadRequest, match="message is not modified"):
            await plain.edit_message_text("same", chat_id=7, message_id=sent.message_id)
    finally:
        await plain.session.close()
    assert await client.edit_message_text("same", chat_id=7, message_id=sent.message_id) is True  # bot: a no-op
    edited = await client.edit_message_text("new", chat_id=7, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "new"


async def test_fake_answers_429_with_retry_after_when_told_to(fake: tuple[FakeTelegram, str], client: Bot) -> None:
    fake[0].fail_next("getMe", 429, "Too Many Requests: retry after 1", retry_after=1)
    me = await client.get_me()  # the bot's session middleware waits and retries
    assert me.id == 4242 and [call.method for call in fake[0].calls] == ["getMe", "getMe"]
    fake[0].fail_next("getMe", 429, "Too Many Requests: retry after 120", retry_after=120)
    with pytest.raises(TelegramRetryAfter):
        await client.get_me()


async def test_fake_serves_files_and_keeps_uploads_when_files_move(fake: tuple[FakeTelegram, str], client: Bot) -> None:
    file_id, _ = fake[0].register_file(b"\x00\x01 bytes")
    file = await client.get_file(file_id)
    assert file.file_path is not None
    downloaded = await client.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"\x00\x01 bytes"
    await client.send_document(7, BufferedInputFile(b"uploaded!", "x.bin"))
    assert fake[0].uploaded_documents() == [b"uploaded!"]
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await client.send_document(7, "unknown-file-id")


async def test_fake_refuses_big_files_when_over_the_download_limit(fake: tuple[FakeTelegram, str], client: Bot) -> None:
    fake[0].download_limit = 10
    file_id, _ = fake[0].register_file(b"x" * 11)
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await client.get_file(file_id)


async def test_fake_delivers_updates_with_the_secret_when_a_webhook_is_set(
    fake: tuple[FakeTelegram, str], client: Bot
) -> None:
    received: list[tuple[str, dict[str, object]]] = []

    async def endpoint(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER, ""), await request.json()))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        await client.set_webhook(f"http://{host}:{port}/hook", secret_token="s3cret", max_connections=5)
        with pytest.raises(TelegramConflictError):
            await client.get_updates(timeout=0)
        await fake[0].user_says(7, "via webhook")
        for _ in range(50):
            if received:
                break
            await asyncio.sleep(0.05)
        assert received[0][0] == "s3cret"
        assert received[0][1]["message"]["text"] == "via webhook"  # type: ignore[index]
        await client.delete_webhook()
    finally:
        await runner.cleanup()


async def test_fake_carries_the_group_when_people_and_the_bot_write_in_one(
    fake: tuple[FakeTelegram, str], client: Bot
) -> None:
    group = FakeTelegram.group(-1001, "Family")
    await fake[0].user_says_in(group, 7, "/documents")
    await fake[0].channel_posts(FakeTelegram.group(-1002, "News", kind="channel"), "news")
    shown = fake[0].message_in(group, "with a button", {"inline_keyboard": [[{"text": "T", "callback_data": "y:t"}]]})
    await fake[0].user_presses(8, shown, "y:t")

    said, posted, pressed = await client.get_updates(timeout=0)
    assert said.message is not None and said.message.chat.type == "supergroup" and said.message.from_user
    assert posted.channel_post is not None and posted.channel_post.from_user is None
    assert pressed.callback_query is not None and pressed.callback_query.message is not None
    assert pressed.callback_query.message.chat.id == -1001
    reply = await client.send_message(-1001, "hello group")
    assert reply.chat.type == "supergroup" and reply.chat.title == "Family"


async def test_fake_keeps_one_command_list_per_language_when_commands_are_set(
    fake: tuple[FakeTelegram, str], client: Bot
) -> None:
    await client.set_my_commands([BotCommand(command="help", description="Help")])
    await client.set_my_commands([BotCommand(command="help", description="Помощь")], language_code="ru")
    await client.set_my_commands([BotCommand(command="menu", description="Menu")])  # replaces the default list
    assert fake[0].commands == {None: [("menu", "Menu")], "ru": [("help", "Помощь")]}
    with pytest.raises(TelegramBadRequest, match="non-empty"):
        await client.set_my_commands([])


async def test_fake_sends_albums_by_file_id_and_upload_when_asked_for_a_media_group(
    fake: tuple[FakeTelegram, str], client: Bot
) -> None:
    telegram = fake[0]
    known, _ = telegram.register_file(b"page one")
    sent = await client.send_media_group(
        7, [InputMediaDocument(media=known), InputMediaDocument(media=BufferedInputFile(b"page two", "p2.pdf"))]
    )

    assert len(sent) == 2 and len({m.media_group_id for m in sent}) == 1 and sent[0].media_group_id
    assert [m.document.file_id for m in sent if m.document] == [known, sent[1].document.file_id]  # type: ignore
    assert telegram.calls[-1].pages == [b"page one", b"page two"]


async def test_fake_refuses_a_media_group_when_it_mixes_kinds_holds_one_item_or_names_an_unknown_file(
    fake: tuple[FakeTelegram, str], client: Bot
) -> None:
    known, _ = fake[0].register_file(b"page")
    for media in (
        [InputMediaDocument(media=known), InputMediaPhoto(media=known)],
        [InputMediaDocument(media=known)],
        [InputMediaDocument(media=known), InputMediaDocument(media="FILE-unknown")],
    ):
        with pytest.raises(TelegramBadRequest):
            await client.send_media_group(7, media)  # type: ignore[arg-type]


async def test_fake_queues_an_album_as_updates_sharing_one_group_when_a_person_sends_several_files(
    fake: tuple[FakeTelegram, str], client: Bot
) -> None:
    group = await fake[0].user_sends_album(7, [(b"one", "1.pdf"), (b"two", "2.pdf")], caption="Lease")

    updates = await client.get_updates(timeout=0)
    messages = [u.message for u in updates if u.message is not None]
    assert [m.media_group_id for m in messages] == [group, group]
    assert [m.caption for m in messages] == ["Lease", None]
    assert [m.document.file_name for m in messages if m.document] == ["1.pdf", "2.pdf"]
