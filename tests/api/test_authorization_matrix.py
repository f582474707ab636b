"""Who may call what: every route of the app is either listed as public here or is owner-scoped and probed.

Owner-scoped routes answer 401 to a missing or wrong token before anything else is looked at, and scope
everything to the owner in the path: another owner's document, event, type slug, cursor, content or
``after_event`` is refused (404) or shows nothing of theirs. Each cross-owner probe is first made by the
other owner with their own ids, so the probe is shown to reach their data before it is shown not to leak it.
Signed links work without a token, so every way of forging one is tried against real documents.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import date

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from api.app import create_app
from api.files.links import LinkClaims, sign_link
from contracts.api_schemas import API_PREFIX, OWNER_SCOPE
from contracts.events import DocumentAdded, EventEnvelope
from service_kit.s3 import s3_client
from service_kit.settings import MongoSettings, S3Settings
from tests import factories as f
from tests.api.support import (
    AUTH,
    LINK_KEY,
    MIB,
    TOKEN,
    Projector,
    added_from_upload,
    api_settings_for,
    forget,
    running_api,
    upload,
)

pytestmark = pytest.mark.integration

OWNER, OTHER = 412845671, 900000001
MINE_BYTES, GONE_BYTES, THEIRS_BYTES = b"%PDF mine-file-bytes", b"%PDF gone-file-bytes", b"%PDF theirs-file-bytes"
MAX_UPLOAD_BYTES = MIB
Route = tuple[str, str]  # (method, path template)

# Reachable without the service token. Everything else must be in OWNER_ROUTES below.
PUBLIC_ROUTES: frozenset[Route] = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", f"{API_PREFIX}/files/signed/{{token}}"),  # the signature is the credential (see the link tests)
        *(
            (method, path)
            for method in ("GET", "HEAD")
            for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
        ),
    }
)


@dataclass(frozen=True)
class Ids:
    """What a request names: the owner in the path and the ids, slug, cursor, words and bytes it carries."""

    owner_id: int | str
    document_id: str
    event_id: str
    slug: str
    cursor: str
    name: str
    content: bytes
    after_event: str


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _get(ids: Ids, tail: str, **params: str) -> Call:
    """A read of ``ids.owner_id``'s scope, gated on ``ids.after_event`` as the bot's reads are."""
    params |= {"after_event": ids.after_event}
    return Call("GET", OWNER_SCOPE.format(owner_id=ids.owner_id) + tail, {k: v for k, v in params.items() if v})


def _post(ids: Ids, tail: str, content: bytes | None = None) -> Call:
    return Call("POST", OWNER_SCOPE.format(owner_id=ids.owner_id) + tail, content=content)


def _seal(ids: Ids) -> Call:
    body = json.dumps({"name": ids.name, "type_title": ids.slug}).encode()
    return replace(_post(ids, "/seal", body), headers={"Content-Type": "application/json"})


OWNER_ROUTES: dict[Route, Callable[[Ids], Call]] = {
    ("GET", f"{OWNER_SCOPE}/types"): lambda i: _get(i, "/types"),
    ("GET", f"{OWNER_SCOPE}/types/{{slug}}/documents"): lambda i: _get(
        i, f"/types/{i.slug}/documents", cursor=i.cursor, limit="1"
    ),
    ("GET", f"{OWNER_SCOPE}/documents/search"): lambda i: _get(i, "/documents/search", q=i.name),
    ("GET", f"{OWNER_SCOPE}/documents/expiring"): lambda i: _get(
        i, "/documents/expiring", on="2026-01-01", within_days="3660"
    ),
    ("GET", f"{OWNER_SCOPE}/documents/{{document_id}}"): lambda i: _get(i, f"/documents/{i.document_id}"),
    ("GET", f"{OWNER_SCOPE}/documents/{{document_id}}/history"): lambda i: _get(
        i, f"/documents/{i.document_id}/history"
    ),
    ("GET", f"{OWNER_SCOPE}/name-check"): lambda i: _get(i, "/name-check", type_slug=i.slug, name=i.name),
    ("GET", f"{OWNER_SCOPE}/profile"): lambda i: _get(i, "/profile"),
    ("GET", f"{OWNER_SCOPE}/usage"): lambda i: _get(i, "/usage"),
    ("GET", f"{OWNER_SCOPE}/events/{{event_id}}"): lambda i: _get(i, f"/events/{i.event_id}"),
    ("POST", f"{OWNER_SCOPE}/files"): lambda i: _post(i, "/files", i.content),
    ("GET", f"{OWNER_SCOPE}/documents/{{document_id}}/file"): lambda i: _get(i, f"/documents/{i.document_id}/file"),
    ("POST", f"{OWNER_SCOPE}/documents/{{document_id}}/link"): lambda i: _post(i, f"/documents/{i.document_id}/link"),
    ("POST", f"{OWNER_SCOPE}/seal"): _seal,
}


# Service routes: the bot's own calls about every owner (the token is the credential; nothing in them names
# an owner to be scoped to). Each must refuse a bad token like an owner route.
SERVICE_ROUTES: dict[Route, Call] = {
    ("GET", f"{API_PREFIX}/reminders/due"): Call(
        "GET", f"{API_PREFIX}/reminders/due", {"on": "2029-12-20", "days": "30,7"}
    ),
}


@dataclass(frozen=True)
class World:
    api: httpx.AsyncClient
    s3: S3Settings
    mine: Ids  # the owner's own things, all of them real
    theirs: Ids  # the other owner's things, all of them real
    gone_document_id: str  # the owner's deleted document
    secrets: tuple[bytes, ...]  # what the owner must never see of the other owner


def _app_routes() -> set[Route]:
    """Every (method, path template) the app serves, routers included (the lifespan is not needed for this)."""
    app = create_app(api_settings_for(MongoSettings(), S3Settings()))
    return {(method, str(route.path)) for route in iter_route_contexts(app.routes) for method in route.methods or ()}


async def _next_cursor(api: httpx.AsyncClient, owner_id: int, slug: str) -> str:
    page = await api.get(f"{OWNER_SCOPE.format(owner_id=owner_id)}/types/{slug}/documents", params={"limit": 1})
    cursor = page.json()["next_cursor"]
    assert isinstance(cursor, str), page.text
    return cursor


def _file_size(event: EventEnvelope) -> int:
    assert isinstance(event.payload, DocumentAdded)
    return event.payload.file.size


async def _populate(api: httpx.AsyncClient, mongo: MongoSettings, s3: S3Settings) -> World:
    mine = added_from_upload(OWNER, "Mine passport", await upload(api, OWNER, MINE_BYTES), "Passport", step=1)
    gone = added_from_upload(OWNER, "Gone one", await upload(api, OWNER, GONE_BYTES), "Passport", step=2)
    theirs = added_from_upload(OTHER, "Theirs alpha", await upload(api, OTHER, THEIRS_BYTES), "Visas", step=3)
    # "visas" is a type of both owners; "Theirs stash" only the other owner's.
    theirs_more = [
        f.added(OTHER, "Theirs beta", "Visas", step=7),
        f.added(OTHER, "Theirs hoard", "Theirs stash", step=8),
    ]
    await Projector(mongo).apply(
        f.started(OWNER, "en"),
        mine,
        gone,
        f.deleted(OWNER, f.document_id_of(gone), 4),
        f.added(OWNER, "Visa mine one", "Visas", step=5),
        f.added(OWNER, "Visa mine two", "Visas", step=6),
        f.started(OTHER, "ru"),
        theirs,
        *theirs_more,
        f.valid_until_set(OTHER, f.document_id_of(theirs), date(2030, 1, 1), 9),
    )
    mine_ids = Ids(
        OWNER,
        str(f.document_id_of(mine)),
        str(mine.event_id),
        "passport",
        "",
        "Mine passport",
        MINE_BYTES,
        str(mine.event_id),
    )
    theirs_ids = Ids(
        OTHER,
        str(f.document_id_of(theirs)),
        str(theirs.event_id),
        "visas",
        await _next_cursor(api, OTHER, "visas"),
        "Theirs alpha",
        THEIRS_BYTES,
        str(theirs.event_id),
    )
    their_bytes = sum(_file_size(event) for event in (theirs, *theirs_more))
    secrets = (
        b"Theirs",
        str(OTHER).encode(),
        theirs_ids.document_id.encode(),
        theirs_ids.event_id.encode(),
        THEIRS_BYTES,
        b'"language":"ru"',
        f'"bytes":{their_bytes},'.encode(),
    )
    return World(api, s3, mine_ids, theirs_ids, str(f.document_id_of(gone)), secrets)


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    """Two owners' documents, files and events, made once for the module (the tests only read them)."""
    name = f"authz{uuid.uuid4().hex[:10]}"
    mongo, s3 = MongoSettings(database=name), S3Settings(bucket=f"api-{name}")
    settings = api_settings_for(mongo, s3, max_upload_bytes=MAX_UPLOAD_BYTES)
    try:
        async with running_api(settings, AUTH) as api:
            yield await _populate(api, mongo, s3)
    finally:
        await forget(mongo, s3)


async def _send(
    api: httpx.AsyncClient, call: Call, authorization: str | None = AUTH["Authorization"]
) -> httpx.Response:
    """``call`` with ``authorization`` as the header's UTF-8 bytes, or without the header when None."""
    request = api.build_request(call.method, call.path, params=call.params, content=call.content, headers=call.headers)
    headers = [(name, value) for name, value in request.headers.raw if name.lower() != b"authorization"]
    if authorization is not None:
        headers.append((b"Authorization", authorization.encode()))
    request.headers = httpx.Headers(headers)
    return await api.send(request)


def _leaked(response: httpx.Response, secrets: tuple[bytes, ...]) -> list[bytes]:
    seen = response.content + str(response.headers).encode()
    return [secret for secret in secrets if secret in seen]


def _stored_keys(s3: S3Settings) -> list[str]:
    return sorted(str(item.object_name) for item in s3_client(s3).list_objects(s3.bucket, recursive=True))


def test_every_route_is_either_public_or_probed_as_owner_scoped() -> None:
    routes = _app_routes()

    unlisted = routes - PUBLIC_ROUTES - set(OWNER_ROUTES) - set(SERVICE_ROUTES)
    gone = (PUBLIC_ROUTES | set(OWNER_ROUTES) | set(SERVICE_ROUTES)) - routes
    assert not unlisted, f"routes without an entry in the authorization matrix: {sorted(unlisted)}"
    assert not gone, f"matrix entries the app no longer has: {sorted(gone)}"
    assert all(path.startswith(OWNER_SCOPE + "/") for _, path in OWNER_ROUTES)
    assert {route for route, _, _, _ in CROSS_OWNER} == set(OWNER_ROUTES), "an owner route has no cross-owner case"


@pytest.mark.parametrize(("method", "path"), sorted(r for r in PUBLIC_ROUTES if "{" not in r[1]))
async def test_public_route_answers_without_a_token_when_called_anonymously(
    world: World, method: str, path: str
) -> None:
    response = await _send(world.api, Call(method, path), authorization=None)

    assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text[:200]}"


BAD_AUTHORIZATIONS: dict[str, str | None] = {
    "missing header": None,
    "wrong token": f"Bearer {TOKEN[:-1]}X",
    "token prefix": f"Bearer {TOKEN[:-1]}",
    "token with a suffix": f"Bearer {TOKEN}0",
    "token twice": f"Bearer {TOKEN} {TOKEN}",
    "basic scheme": f"Basic {TOKEN}",
    "empty bearer": "Bearer ",
    "scheme only": "Bearer",
    "non-ascii token": f"Bearer {TOKEN}ё",  # sent as UTF-8 bytes
}
# Malformed ids, an unknown owner and (for uploads) a body over the limit: none of it may be looked at first.
HOSTILE = Ids(0, "not-a-uuid", "nope", "bad slug", "!", "", b"x" * (2 * MAX_UPLOAD_BYTES), "nope")


@pytest.mark.parametrize("case", BAD_AUTHORIZATIONS)
@pytest.mark.parametrize("route", OWNER_ROUTES, ids=" ".join)
async def test_owner_route_answers_401_before_anything_else_when_the_token_is_missing_or_wrong(
    world: World, route: Route, case: str
) -> None:
    keys_before = _stored_keys(world.s3)

    for ids in (world.mine, world.theirs, HOSTILE):
        response = await _send(world.api, OWNER_ROUTES[route](ids), BAD_AUTHORIZATIONS[case])

        where = f"{' '.join(route)} with {case}, owner {ids.owner_id}"
        assert response.status_code == 401, f"{where}: {response.status_code} {response.text[:200]}"
        assert response.headers["WWW-Authenticate"] == "Bearer", where
        assert response.json() == {"code": "unauthorized", "message": response.json()["message"]}, where
        assert not _leaked(response, world.secrets + (b"Mine", MINE_BYTES)), where
    assert _stored_keys(world.s3) == keys_before


@pytest.mark.parametrize("case", BAD_AUTHORIZATIONS)
@pytest.mark.parametrize("route", SERVICE_ROUTES, ids=" ".join)
async def test_service_route_answers_401_when_the_token_is_missing_or_wrong(
    world: World, route: Route, case: str
) -> None:
    response = await _send(world.api, SERVICE_ROUTES[route], BAD_AUTHORIZATIONS[case])

    assert response.status_code == 401, f"{' '.join(route)} with {case}: {response.status_code}"
    assert not _leaked(response, world.secrets + (b"Mine", MINE_BYTES))


@pytest.mark.parametrize("route", SERVICE_ROUTES, ids=" ".join)
async def test_service_route_answers_with_the_token_when_called_by_the_bot(world: World, route: Route) -> None:
    response = await _send(world.api, SERVICE_ROUTES[route])

    assert response.status_code == 200, response.text
    assert _leaked(response, world.secrets), "the probe reaches nobody's data: the 401 test above means nothing"


SEES_NOTHING = (200, None)
NO_DOCUMENT, NO_EVENT = (404, "document_not_found"), (404, "event_not_found")
# (route, case, the fields of the other owner's that the owner's request carries, expected status and code)
CROSS_OWNER: list[tuple[Route, str, tuple[str, ...], tuple[int, str | None]]] = [
    (("GET", f"{OWNER_SCOPE}/types"), "own scope only", (), SEES_NOTHING),
    (("GET", f"{OWNER_SCOPE}/types/{{slug}}/documents"), "type both have", ("slug",), SEES_NOTHING),
    (("GET", f"{OWNER_SCOPE}/types/{{slug}}/documents"), "their cursor", ("slug", "cursor"), SEES_NOTHING),
    (("GET", f"{OWNER_SCOPE}/documents/search"), "their document's name", ("name",), SEES_NOTHING),
    (("GET", f"{OWNER_SCOPE}/documents/expiring"), "own scope only", (), SEES_NOTHING),
    (("GET", f"{OWNER_SCOPE}/documents/{{document_id}}"), "their document id", ("document_id",), NO_DOCUMENT),
    (("GET", f"{OWNER_SCOPE}/documents/{{document_id}}/history"), "their document id", ("document_id",), NO_DOCUMENT),
    (("GET", f"{OWNER_SCOPE}/name-check"), "their name in a type both have", ("slug", "name"), SEES_NOTHING),
    (("GET", f"{OWNER_SCOPE}/profile"), "own scope only", (), SEES_NOTHING),
    (("GET", f"{OWNER_SCOPE}/usage"), "own scope only", (), SEES_NOTHING),
    (("GET", f"{OWNER_SCOPE}/events/{{event_id}}"), "their event id", ("event_id",), NO_EVENT),
    (("POST", f"{OWNER_SCOPE}/files"), "their file's bytes", ("content",), (201, None)),
    (("GET", f"{OWNER_SCOPE}/documents/{{document_id}}/file"), "their document id", ("document_id",), NO_DOCUMENT),
    (("POST", f"{OWNER_SCOPE}/documents/{{document_id}}/link"), "their document id", ("document_id",), NO_DOCUMENT),
    (("POST", f"{OWNER_SCOPE}/seal"), "own scope only", (), SEES_NOTHING),
    *(
        (route, "their event as after_event", ("after_event",), NO_EVENT)
        for route in OWNER_ROUTES
        if route[0] == "GET" and "{event_id}" not in route[1]
    ),
]


@pytest.mark.parametrize(
    ("route", "case", "fields", "expected"),
    CROSS_OWNER,
    ids=[f"{' '.join(route)} | {case}" for route, case, _, _ in CROSS_OWNER],
)
async def test_owner_route_refuses_or_shows_nothing_when_given_another_owners_ids(
    world: World, route: Route, case: str, fields: tuple[str, ...], expected: tuple[int, str | None]
) -> None:
    probe = OWNER_ROUTES[route]
    foreign = replace(world.mine, **{name: getattr(world.theirs, name) for name in fields})

    theirs = await _send(world.api, probe(world.theirs))
    answer = await _send(world.api, probe(foreign))

    where = f"{' '.join(route)} | {case}"
    # the same probe made by the other owner reaches their data: so not leaking it below means something
    assert theirs.is_success and _leaked(theirs, world.secrets), f"{where}: the probe sees nothing of theirs"
    assert answer.status_code == expected[0], f"{where}: {answer.status_code} {answer.text[:300]}"
    assert expected[1] is None or answer.json()["code"] == expected[1], f"{where}: {answer.text[:300]}"
    assert not _leaked(answer, world.secrets), f"{where}: leaked {_leaked(answer, world.secrets)}"


def _token(document_id: str, owner_id: int, expires_at: int, key: str = LINK_KEY, generation: int = 0) -> str:
    return sign_link(key.encode(), LinkClaims(uuid.UUID(document_id), owner_id, generation, expires_at))


def _with_part(token: str, index: int, value: str) -> str:
    """``token`` with one of its five dot-separated parts replaced, the signature kept."""
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


def _flip_last(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


SIGNED = f"{API_PREFIX}/files/signed/"
LinkCase = Callable[[World, str], str]  # (world, a genuine token of the owner's document) -> the path asked
INVALID, EXPIRED = (403, "invalid_link"), (403, "link_expired")
LINK_CASES: dict[str, tuple[LinkCase, tuple[int, str]]] = {
    "tampered signature": (lambda w, t: SIGNED + _flip_last(t), INVALID),
    "tampered expiry": (lambda w, t: SIGNED + _with_part(t, 3, str(int(t.split(".")[3]) + 3600)), INVALID),
    "tampered generation": (lambda w, t: SIGNED + _with_part(t, 2, "1"), INVALID),
    "retargeted to their document": (lambda w, t: SIGNED + _with_part(t, 0, w.theirs.document_id), INVALID),
    "retargeted to my deleted document": (lambda w, t: SIGNED + _with_part(t, 0, w.gone_document_id), INVALID),
    "retargeted to their owner id": (lambda w, t: SIGNED + _with_part(t, 1, str(OTHER)), INVALID),
    "signed with another key": (
        lambda w, t: SIGNED + _token(w.mine.document_id, OWNER, int(time.time()) + 60, "another-key-" + "x" * 20),
        INVALID,
    ),
    "expired": (lambda w, t: SIGNED + _token(w.mine.document_id, OWNER, int(time.time()) - 1), EXPIRED),
    "genuine but naming their document": (
        lambda w, t: SIGNED + _token(w.theirs.document_id, OWNER, int(time.time()) + 60),
        NO_DOCUMENT,
    ),
    "genuine but for another link generation": (
        lambda w, t: SIGNED + _token(w.mine.document_id, OWNER, int(time.time()) + 60, generation=1),
        (410, "link_revoked"),
    ),
    # The delete bumped the document's link generation (0 -> 1): a link made before it is revoked, and one that
    # names the deleted document's own generation still finds nothing to serve.
    "genuine, made before the delete": (
        lambda w, t: SIGNED + _token(w.gone_document_id, OWNER, int(time.time()) + 60),
        (410, "link_revoked"),
    ),
    "genuine but deleted": (
        lambda w, t: SIGNED + _token(w.gone_document_id, OWNER, int(time.time()) + 60, generation=1),
        (410, "document_deleted"),
    ),
    "uppercase document id": (lambda w, t: SIGNED + _with_part(t, 0, w.mine.document_id.upper()), INVALID),
    "owner id with a leading zero": (lambda w, t: SIGNED + _with_part(t, 1, f"0{OWNER}"), INVALID),
    "padded signature": (lambda w, t: SIGNED + t + "=", INVALID),
    "trailing newline": (lambda w, t: SIGNED + t + "%0A", INVALID),
    "nul byte": (lambda w, t: SIGNED + t[:10] + "%00" + t[10:], INVALID),
    "non-ascii": (lambda w, t: SIGNED + "ё" + t[1:], INVALID),
    "garbage": (lambda w, t: SIGNED + "garbage", INVALID),
    "dots only": (lambda w, t: SIGNED + "...", INVALID),
    "empty claims": (lambda w, t: SIGNED + "..." + t.split(".")[3], INVALID),
    "over the length limit": (lambda w, t: SIGNED + t + "x" * 128, (422, "invalid_request")),
    "encoded slashes": (lambda w, t: SIGNED + "..%2F..%2F" + t, (404, "not_found")),
    "no token": (lambda w, t: SIGNED, (404, "not_found")),
}


async def test_signed_link_serves_the_file_without_a_token_when_genuine(world: World) -> None:
    token = _token(world.mine.document_id, OWNER, int(time.time()) + 60)

    response = await _send(world.api, Call("GET", SIGNED + token), authorization=None)

    assert (response.status_code, response.content) == (200, MINE_BYTES)


@pytest.mark.parametrize("case", LINK_CASES)
async def test_signed_link_is_refused_and_leaks_nothing_when_forged_expired_or_retargeted(
    world: World, case: str
) -> None:
    make_path, (status, code) = LINK_CASES[case]
    genuine = _token(world.mine.document_id, OWNER, int(time.time()) + 60)

    response = await _send(world.api, Call("GET", make_path(world, genuine)), authorization=None)

    where = f"signed link | {case}: {response.status_code} {response.content[:200]!r}"
    assert response.status_code == status, where
    assert response.json() == {"code": code, "message": response.json()["message"]}, where
    assert not {"content-disposition", "etag", "content-range"} & set(response.headers), case
    assert not _leaked(response, world.secrets + (b"Mine", b"Gone", MINE_BYTES, GONE_BYTES)), case
