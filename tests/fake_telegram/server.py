"""A fake Telegram Bot API server (aiohttp) for end-to-end tests and the benchmark.

It speaks the subset of the Bot API the bot uses: getMe, getUpdates (long polling), setWebhook /
deleteWebhook / getWebhookInfo (updates then go to the webhook with the secret header), sendMessage,
editMessageText, editMessageReplyMarkup, answerCallbackQuery, sendDocument / sendPhoto / sendMediaGroup (uploads
are kept so tests can compare bytes; an album's items by file_id or uploaded, in ``BotCall.pages``), getFile and
``/file/bot<token>/<path>`` downloads.

Tests play the people: ``user_says``, ``user_sends_document``, ``user_sends_album`` (files sharing a
``media_group_id``), ``user_presses`` (on any message: one of their own chat, one of a group, one forwarded from
someone else), ``user_says_in`` a group and ``channel_posts``;
messages the bot sends to a group or channel carry that chat. Tests read what the bot did
from ``calls`` (every Bot API call, in order) or wait for it with ``wait_for_call``. ``fail_next`` makes the
next call of a method fail (429 with ``retry_after``, "message is not modified", "wrong file identifier").
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

BOT_ID = 4242
CLOUD_DOWNLOAD_LIMIT = 20 * 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
Json = dict[str, Any]


@dataclass
class BotCall:
    method: str
    params: Json
    result: Any = None
    error: str | None = None
    uploaded: bytes | None = None
    pages: list[bytes] = field(default_factory=list)  # sendMediaGroup: the bytes of every item, in order


@dataclass
class Webhook:
    url: str
    secret: str | None
    max_connections: int
    allowed_updates: list[str] | None


@dataclass
class StoredFile:
    data: bytes
    file_unique_id: str
    path: str


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class FakeTelegram:
    token: str
    download_limit: int = CLOUD_DOWNLOAD_LIMIT
    calls: list[BotCall] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)  # HTTP status of every webhook delivery attempt
    refused_file_ids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._pending: list[Json] = []
        self._pushed: dict[int, Json] = {}  # every update ever queued, by update_id
        self._messages: dict[tuple[int, int], Json] = {}
        self._chats: dict[int, Json] = {}  # groups and channels people wrote in, by id (others are private)
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, str] = {}
        self._failures: dict[str, list[Failure]] = {}
        self._changed = asyncio.Condition()
        self.webhook: Webhook | None = None
        self.commands: dict[str | None, list[tuple[str, str]]] = {}  # setMyCommands by language_code
        self._delivery: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    # ---- serving -------------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.on_cleanup.append(self._stop_delivery)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
        return runner, f"http://{bound_host}:{bound_port}"

    # ---- the people's side ---------------------------------------------------------------------------------
    def _next(self) -> int:
        return next(self._ids)

    @staticmethod
    def user(user_id: int, language: str = "en") -> Json:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": language}

    async def push_update(self, kind: str, body: Json) -> int:
        update_id = self._next()
        self._pushed[update_id] = {"update_id": update_id, kind: body}
        await self._queue(self._pushed[update_id])
        return update_id

    async def redeliver(self, update_id: int) -> None:
        """Queue an update again, as Telegram does when it saw no answer in time."""
        await self._queue(self._pushed[update_id])

    def updates_of(self, user_id: int) -> list[int]:
        """The ids of the updates a person sent, in order."""
        return [
            update_id
            for update_id, update in self._pushed.items()
            if any(isinstance(body, dict) and body.get("from", {}).get("id") == user_id for body in update.values())
        ]

    async def _queue(self, update: Json) -> None:
        async with self._changed:
            self._pending.append(update)
            self._changed.notify_all()

    def _user_message(self, user_id: int, language: str, **fields: Any) -> Json:
        return {
            "message_id": self._next(),
            "date": int(time.time()),
            "from": self.user(user_id, language),
            "chat": {"id": user_id, "type": "private", "first_name": f"User{user_id}"},
            **fields,
        }

    async def user_says(self, user_id: int, text: str, language: str = "en") -> int:
        return await self.push_update("message", self._user_message(user_id, language, text=text))

    @staticmethod
    def group(chat_id: int, title: str = "Family", kind: str = "supergroup") -> Json:
        """A shared chat (Telegram gives groups and channels negative ids)."""
        return {"id": chat_id, "type": kind, "title": title}

    async def user_says_in(self, chat: Json, user_id: int, text: str, language: str = "en") -> int:
        """A person's message in a group the bot is a member of."""
        self._chats[chat["id"]] = chat
        message = {**self._user_message(user_id, language, text=text), "chat": chat}
        return await self.push_update("message", message)

    async def channel_posts(self, chat: Json, text: str) -> int:
        """A post in a channel: no person sends it (no ``from``)."""
        self._chats[chat["id"]] = chat
        return await self.push_update(
            "channel_post", {"message_id": self._next(), "date": int(time.time()), "chat": chat, "text": text}
        )

    def message_in(self, chat: Json, text: str, reply_markup: Json | None = None) -> Json:
        """A message of the bot shown in ``chat`` (a group) with buttons, for a member to press."""
        self._chats[chat["id"]] = chat
        return self._bot_message(chat["id"], text=text, reply_markup=reply_markup)

    def register_file(self, data: bytes, kind: str = "documents") -> tuple[str, str]:
        """Keep bytes as if a person had uploaded them; returns (file_id, file_unique_id)."""
        number = self._next()
        file_id, unique = f"FILE{number:06d}-{kind}", f"U{number:06d}"
        path = f"{kind}/file_{number}"
        self._files[file_id] = StoredFile(data, unique, path)
        self._paths[path] = file_id
        return file_id, unique

    async def user_sends_document(
        self, user_id: int, data: bytes, file_name: str | None, mime_type: str | None = "application/pdf", **fields: Any
    ) -> str:
        file_id, unique = self.register_file(data)
        document: Json = {"file_id": file_id, "file_unique_id": unique, "file_size": len(data)}
        document.update({k: v for k, v in (("file_name", file_name), ("mime_type", mime_type)) if v})
        await self.push_update("message", self._user_message(user_id, "en", document=document, **fields))
        return file_id

    async def user_sends_album(self, user_id: int, files: list[tuple[bytes, str]], caption: str | None = None) -> str:
        """Several files picked at once: one update per file sharing a ``media_group_id``, queued together (as
        Telegram delivers an album within about a second); the caption rides on the first. The group's id."""
        group = str(10_000_000 + self._next())
        for n, (data, file_name) in enumerate(files):
            file_id, unique = self.register_file(data)
            document = {"file_id": file_id, "file_unique_id": unique, "file_size": len(data), "file_name": file_name}
            fields: Json = {"document": {**document, "mime_type": "application/pdf"}, "media_group_id": group}
            if caption and n == 0:
                fields["caption"] = caption
            await self.push_update("message", self._user_message(user_id, "en", **fields))
        return group

    async def user_presses(self, user_id: int, message: Json, callback_data: str) -> int:
        query = {
            "id": str(self._next()),
            "from": self.user(user_id),
            "chat_instance": "fake-chat",
            "message": message,
            "data": callback_data,
        }
        return await self.push_update("callback_query", query)

    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None) -> None:
        self._failures.setdefault(method, []).append(Failure(status, description, retry_after))

    async def wait_for_call(
        self, predicate: Callable[[BotCall], bool], timeout: float = 15.0, after: int = 0
    ) -> BotCall:
        """The first call (at index ``after`` or later) that satisfies ``predicate``; waits for it."""

        async def found() -> BotCall:
            async with self._changed:
                while True:
                    for call in self.calls[after:]:
                        if predicate(call):
                            return call
                    await self._changed.wait()

        return await asyncio.wait_for(found(), timeout)

    def uploaded_documents(self) -> list[bytes]:
        return [call.uploaded for call in self.calls if call.uploaded is not None]

    # ---- Bot API -------------------------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params, files = await _read_params(request)
        return await self._call(request.match_info["method"], params, files)

    async def _call(self, method: str, params: Json, files: dict[str, bytes]) -> web.Response:
        failures = self._failures.get(method)
        if failures:
            failure = failures.pop(0)
            await self._record(BotCall(method, params, error=failure.description))
            return _error(failure.status, failure.description, failure.retry_after)
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            result, uploaded = await handler(params, files)
        except _ApiError as error:
            await self._record(BotCall(method, params, error=error.description))
            return _error(error.status, error.description)
        if isinstance(uploaded, list):  # an album's items
            await self._record(BotCall(method, params, result, pages=uploaded))
        else:
            await self._record(BotCall(method, params, result, uploaded=uploaded))
        return web.json_response({"ok": True, "result": result})

    async def _record(self, call: BotCall) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _m_getMe(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "DocVault", "username": "docvault_fake_bot"}, None

    async def _m_getUpdates(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        if self.webhook is not None:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset, timeout = int(params.get("offset", 0)), float(params.get("timeout", 0))
        async with self._changed:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            if not self._pending and timeout:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._pending)), timeout)
            return list(self._pending[:100]), None

    async def _m_setWebhook(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        allowed = json.loads(params["allowed_updates"]) if "allowed_updates" in params else None
        self.webhook = Webhook(
            params["url"], params.get("secret_token"), int(params.get("max_connections", 40)), allowed
        )
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.create_task(self._deliver())
        return True, None

    async def _m_setMyCommands(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        """Like Telegram: the list for one ``language_code`` (none: the default list), replacing the last one."""
        commands = json.loads(params["commands"])
        if not isinstance(commands, list) or not 1 <= len(commands) <= 100:
            raise _ApiError(400, "Bad Request: commands must be a non-empty list of at most 100")
        self.commands[params.get("language_code")] = [(c["command"], c["description"]) for c in commands]
        return True, None

    async def _m_deleteWebhook(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        self.webhook = None
        await self._stop_delivery()
        return True, None

    async def _m_getWebhookInfo(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        url = self.webhook.url if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._pending)}, None

    def bot_message(self, chat_id: int, text: str) -> Json:
        """A message the bot sent earlier (e.g. a menu a person will press a button on)."""
        return self._bot_message(chat_id, text=text)

    def _bot_message(self, chat_id: int, **fields: Any) -> Json:
        message_id = self._next()
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "DocVault"},
            "chat": self._chats.get(chat_id, {"id": chat_id, "type": "private"}),
        }
        message.update({k: v for k, v in fields.items() if v is not None})
        self._messages[(chat_id, message_id)] = message
        return message

    async def _m_sendMessage(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        return self._bot_message(
            int(params["chat_id"]), text=params["text"], reply_markup=_json_field(params, "reply_markup")
        ), None

    async def _edited(self, params: Json, changes: Json) -> Json:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self._messages.get(key)
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if all(message.get(name) == value for name, value in changes.items()):
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message.update(changes)
        return message

    async def _m_editMessageText(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        changes = {"text": params["text"], "reply_markup": _json_field(params, "reply_markup")}
        return await self._edited(params, changes), None

    async def _m_editMessageReplyMarkup(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        return await self._edited(params, {"reply_markup": _json_field(params, "reply_markup")}), None

    async def _m_answerCallbackQuery(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        return True, None

    async def _m_sendChatAction(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        return True, None

    async def _sent_file(self, params: Json, files: dict[str, bytes], field_name: str) -> tuple[Json, bytes | None]:
        value = params.get(field_name, "")
        if value.startswith("attach://") or field_name in files:
            data = files[value.removeprefix("attach://")] if value.startswith("attach://") else files[field_name]
            file_id, unique = self.register_file(data, "uploads")
            descriptor, uploaded = {"file_id": file_id, "file_unique_id": unique, "file_size": len(data)}, data
        elif value in self._files and value not in self.refused_file_ids:
            stored = self._files[value]
            descriptor = {"file_id": value, "file_unique_id": stored.file_unique_id, "file_size": len(stored.data)}
            uploaded = None
        else:
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return descriptor, uploaded

    async def _m_sendDocument(self, params: Json, files: dict[str, bytes]) -> tuple[Any, bytes | None]:
        descriptor, uploaded = await self._sent_file(params, files, "document")
        return self._bot_message(int(params["chat_id"]), document=descriptor, caption=params.get("caption")), uploaded

    async def _m_sendPhoto(self, params: Json, files: dict[str, bytes]) -> tuple[Any, bytes | None]:
        descriptor, uploaded = await self._sent_file(params, files, "photo")
        photo = [{**descriptor, "width": 800, "height": 600}]
        return self._bot_message(int(params["chat_id"]), photo=photo, caption=params.get("caption")), uploaded

    async def _m_sendMediaGroup(self, params: Json, files: dict[str, bytes]) -> tuple[Any, list[bytes]]:
        """An album: 2 to 10 photos or 2 to 10 files (Telegram does not mix them), each by file_id or uploaded
        (``attach://``); one message per item sharing a ``media_group_id``. The call's ``pages`` keeps the bytes."""
        media = _json_field(params, "media")
        kinds = {item.get("type") for item in media} if isinstance(media, list) else set()
        if not isinstance(media, list) or not 2 <= len(media) <= 10 or kinds not in ({"photo"}, {"document"}):
            raise _ApiError(400, "Bad Request: wrong media group: 2-10 photos or 2-10 documents")
        chat_id, group, messages, pages = int(params["chat_id"]), str(self._next()), [], []
        for item in media:
            descriptor, uploaded = await self._sent_file({"media": item["media"]}, files, "media")
            pages.append(uploaded if uploaded is not None else self._files[descriptor["file_id"]].data)
            kind = item["type"]
            body = [{**descriptor, "width": 800, "height": 600}] if kind == "photo" else descriptor
            messages.append(self._bot_message(chat_id, media_group_id=group, **{kind: body}))
        return messages, pages

    async def _m_getFile(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        stored = self._files.get(params.get("file_id", ""))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > self.download_limit:
            raise _ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": params["file_id"],
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }, None

    async def _download(self, request: web.Request) -> web.Response:
        file_id = self._paths.get(request.match_info["path"])
        if request.match_info["token"] != self.token or file_id is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=self._files[file_id].data, content_type="application/octet-stream")

    # ---- webhook delivery ----------------------------------------------------------------------------------
    async def _deliver(self) -> None:
        """Post pending updates to the webhook one at a time, in order; retry what was not answered with 200."""
        self._http = aiohttp.ClientSession()
        try:
            while self.webhook is not None:
                async with self._changed:
                    await self._changed.wait_for(lambda: bool(self._pending) or self.webhook is None)
                    if self.webhook is None:
                        return
                    update, webhook = self._pending[0], self.webhook
                if await self._post(webhook, update):
                    async with self._changed:
                        self._pending = [u for u in self._pending if u["update_id"] != update["update_id"]]
                else:
                    await asyncio.sleep(0.2)
        finally:
            await self._http.close()

    async def _post(self, webhook: Webhook, update: Json) -> bool:
        assert self._http is not None
        headers = {SECRET_HEADER: webhook.secret} if webhook.secret else {}
        try:
            async with self._http.post(webhook.url, json=update, headers=headers) as response:
                self.deliveries.append(response.status)
                if response.status == 200 and response.content_type.startswith("multipart/"):
                    await self._answer_in_response(response)
                else:
                    await response.read()
                return response.status == 200
        except aiohttp.ClientError:
            self.deliveries.append(0)
            return False

    async def _answer_in_response(self, response: aiohttp.ClientResponse) -> None:
        """A bot may answer a webhook with one Bot API call in the body (form fields plus ``method``)."""
        params: Json = {}
        reader = aiohttp.MultipartReader.from_response(response)
        while (part := await reader.next()) is not None:
            assert isinstance(part, aiohttp.BodyPartReader) and part.name
            params[part.name] = await part.text()
        method = params.pop("method", "")
        if method:
            await self._call(method, params, {})

    async def _stop_delivery(self, *_: Any) -> None:
        task, self._delivery = self._delivery, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: Json = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


def _json_field(params: Json, name: str) -> Any:
    return json.loads(params[name]) if name in params else None


async def _read_params(request: web.Request) -> tuple[Json, dict[str, bytes]]:
    """Form fields as strings and uploaded files as bytes (aiogram posts forms, other clients JSON)."""
    if request.content_type == "application/json":
        body = await request.json() if request.can_read_body else {}
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}, {}
    params: Json = dict(request.query)
    files: dict[str, bytes] = {}
    for name, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            files[name] = value.file.read()
        else:
            params[name] = str(value)
    return params, files
