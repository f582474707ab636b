"""What the bot keeps per person in Redis besides the dialog: flood counters, language, last write, update claims,
navigation tokens, the "known" flag, album and group notices."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

NAV_TTL_SECONDS = 24 * 3600
# How long reads wait for the person's last appended event (read-your-writes); the API waits briefly itself.
LAST_WRITE_TTL_SECONDS = 60
ALBUM_TTL_SECONDS = 120
# Telegram delivers an update again when it got no answer in time (a slow request, a restart); an update id
# is remembered this long from its first delivery, and a later delivery of it is dropped.
HANDLED_UPDATE_TTL_SECONDS = 3600
# A group, supergroup or channel is told once in this long that the bot works in private chats only.
GROUP_NOTICE_TTL_SECONDS = 7 * 24 * 3600
# A person whose user.started the broker confirmed is not recorded again for this long: /start changes nothing
# then (the users projection keeps the first time it saw them; "last seen" moves at most once in this period).
KNOWN_TTL_SECONDS = 30 * 24 * 3600
EVENT_BUDGET_WINDOW_SECONDS = 3600


def redis_client(url: str) -> Redis:
    """The bot's Redis client: a command that meets a dropped connection (Redis restarted, a failover) is
    retried on a new one a few times within about a second, instead of failing the person's update."""
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=3)
    return Redis.from_url(url, retry=retry, retry_on_error=[RedisConnectionError, RedisTimeoutError])


@dataclass(frozen=True)
class UserContext:
    """What one Redis round trip tells about the person behind an update."""

    updates_in_window: int
    language: str | None
    last_event_id: str | None
    already_handled: bool = False


@dataclass(frozen=True)
class ListRef:
    """One page of a type's documents: what a ``ListCb`` token stands for. ``prev`` is the packed callback
    data of the page before (the "Back" button)."""

    slug: str
    title: str
    cursor: str | None = None
    page: int = 1
    prev: str | None = None


def list_token(owner_id: int, slug: str, cursor: str | None) -> str:
    """A short stable token for (owner, slug, cursor): rendering the same page twice stores one key."""
    digest = hashlib.blake2b(f"{owner_id}\0{slug}\0{cursor or ''}".encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode()


def search_token(owner_id: int, query: str) -> str:
    """A short stable token for (owner, search query), of the same shape as ``list_token``."""
    digest = hashlib.blake2b(f"{owner_id}\0search\0{query}".encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode()


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class UserStore:
    def __init__(self, redis: Redis, prefix: str, flood_window_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._window = flood_window_seconds

    def _key(self, *parts: object) -> str:
        return ":".join((self._prefix, *map(str, parts)))

    async def enter(
        self, user_id: int, update_id: int, also_get: Sequence[str] = ()
    ) -> tuple[UserContext, list[str | None]]:
        """Count this update in the person's flood window, read language and last write, and claim
        ``update_id`` (telling whether an earlier delivery claimed it), in one round trip.

        ``also_get`` names more keys to read in that round trip (the dialog state and data); their values are
        returned in order.
        """
        window = int(time.time()) // self._window
        flood_key = self._key("flood", user_id, window)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(flood_key)
            pipe.expire(flood_key, self._window * 2)
            pipe.get(self._key("lang", user_id))
            pipe.get(self._key("last_event", user_id))
            pipe.set(self._key("update", update_id), 1, nx=True, ex=HANDLED_UPDATE_TTL_SECONDS)
            for key in also_get:
                pipe.get(key)
            count, _, language, last_event, claimed, *extra = await pipe.execute()
        context = UserContext(int(count), _text(language), _text(last_event), already_handled=not claimed)
        return context, [_text(value) for value in extra]

    async def language(self, user_id: int) -> str | None:
        return _text(await self._redis.get(self._key("lang", user_id)))

    async def set_language(self, user_id: int, language: str) -> None:
        await self._redis.set(self._key("lang", user_id), language)

    async def count_event(self, user_id: int, now: float) -> int:
        """Count one more event of the person in the fixed hourly window holding ``now``; returns the count."""
        key = self._key("events", user_id, int(now) // EVENT_BUDGET_WINDOW_SECONDS)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, EVENT_BUDGET_WINDOW_SECONDS * 2)
            count, _ = await pipe.execute()
        return int(count)

    async def is_known(self, user_id: int) -> bool:
        return bool(await self._redis.exists(self._key("known", user_id)))

    async def remember_known(self, user_id: int) -> None:
        await self._redis.set(self._key("known", user_id), 1, ex=KNOWN_TTL_SECONDS)

    async def first_notice(self, chat_id: int) -> bool:
        """True the first time in ``GROUP_NOTICE_TTL_SECONDS`` that a shared chat is told the bot is private."""
        return bool(await self._redis.set(self._key("notice", chat_id), 1, nx=True, ex=GROUP_NOTICE_TTL_SECONDS))

    async def remember_write(self, user_id: int, event_id: str) -> None:
        await self._redis.set(self._key("last_event", user_id), event_id, ex=LAST_WRITE_TTL_SECONDS)

    async def claim_reminder(self, owner_id: int, event_id: str, ttl_seconds: int) -> bool:
        """True for the one caller, of every replica and every restart, that may send this reminder (until the
        claim expires, after the reminder's date: nothing is due for it then)."""
        key = self._key("reminder", owner_id, event_id)
        return bool(await self._redis.set(key, 1, nx=True, ex=max(ttl_seconds, 1)))

    async def release_reminder(self, owner_id: int, event_id: str) -> None:
        """Give a claimed reminder back (it could not be recorded, so it was not sent: the next round tries)."""
        await self._redis.delete(self._key("reminder", owner_id, event_id))

    async def first_of_album(self, media_group_id: str) -> bool:
        """True for the first message of an album only, so the person is told once per album."""
        return bool(await self._redis.set(self._key("album", media_group_id), 1, nx=True, ex=ALBUM_TTL_SECONDS))

    async def add_album_part(self, owner_id: int, media_group_id: str, message_id: int, part: str) -> int:
        """Keep one message of an album (by message id: a repeated update replaces itself); how many are kept."""
        key = self._key("album_parts", owner_id, media_group_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, str(message_id), part)
            pipe.expire(key, ALBUM_TTL_SECONDS)
            pipe.hlen(key)
            *_, count = await pipe.execute()
        return int(count)

    async def album_parts(self, owner_id: int, media_group_id: str) -> list[str]:
        """The album's messages, in message order (Telegram numbers an album's messages in the order sent)."""
        raw = await self._redis.hgetall(self._key("album_parts", owner_id, media_group_id))
        return [_text(raw[key]) or "" for key in sorted(raw, key=int)]

    async def album_count(self, owner_id: int, media_group_id: str) -> int:
        return int(await self._redis.hlen(self._key("album_parts", owner_id, media_group_id)))

    async def save_lists(self, owner_id: int, refs: list[ListRef]) -> list[str]:
        """Store navigation references and return their tokens, in order."""
        tokens = [list_token(owner_id, ref.slug, ref.cursor) for ref in refs]
        if refs:
            async with self._redis.pipeline(transaction=False) as pipe:
                for token, ref in zip(tokens, refs):
                    pipe.set(self._key("nav", owner_id, token), json.dumps(asdict(ref)), ex=NAV_TTL_SECONDS)
                await pipe.execute()
        return tokens

    async def save_search(self, owner_id: int, query: str) -> str:
        """Store a search query (up to 100 characters: more than a button can carry) and return its token."""
        token = search_token(owner_id, query)
        await self._redis.set(self._key("search", owner_id, token), query, ex=NAV_TTL_SECONDS)
        return token

    async def load_search(self, owner_id: int, token: str) -> str | None:
        """The query behind a search token, or None when it expired or was never this owner's."""
        return _text(await self._redis.get(self._key("search", owner_id, token)))

    async def forget(self, user_id: int) -> int:
        """Delete everything kept about the person ("forget me"): language, last write, the "known" flag, flood and
        event counters, navigation and search tokens, the parts of an album being received (file names, captions)
        and claimed reminders; returns how many keys went. Claimed update ids and album notices name no person and
        expire by themselves; the dialog state is cleared by the handler (aiogram's storage)."""
        keys = [self._key(name, user_id) for name in ("lang", "last_event", "known")]
        for pattern in ("flood", "events", "nav", "search", "album_parts", "reminder"):
            keys.extend([key async for key in self._redis.scan_iter(match=self._key(pattern, user_id, "*"))])
        return int(await self._redis.delete(*keys))

    async def load_list(self, owner_id: int, token: str) -> ListRef | None:
        """The reference behind a token, or None when it expired or was never this owner's."""
        raw = await self._redis.get(self._key("nav", owner_id, token))
        if raw is None:
            return None
        try:
            return ListRef(**json.loads(raw))
        except (TypeError, ValueError):
            return None
