"""What keeps the public pages safe, apart from the pages themselves:

- `SecurityHeaders`: every response carries a Content-Security-Policy with no script at all
  (our pages: styles inline, forms to ourselves; the archive: its issues' https images),
  nosniff, no referrer to other sites (a token in the URL never leaks to a linked site; our
  own forms still carry their Origin), no framing; pages
  that carry a token are never cached.
- `Csrf`: every browser form carries a token that is the HMAC of a random cookie
  (SameSite=Strict, HttpOnly): a page on another site can neither read nor send it. A POST
  with an Origin that is another site's is refused the same way ("null", which privacy
  settings send, is left to the token). The RFC 8058 one-click POST is the
  one exception, by the RFC (no cookie, no context): its signed URL is its authority.
- `ClientLimiter`: at most N subscribe requests an hour from one client address (what a
  trusted proxy says it is, else the peer's), counted in the state database: shared by every
  server of the list.
- `read_form`: a urlencoded or multipart form within bounds, or a clear 4xx.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.sending.tokens import CSRF, Signer
from digest.state import State

log = logging.getLogger(__name__)

PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
ARCHIVE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PRIVATE_PREFIXES = ("/u/", "/p/", "/confirm/")  # pages whose URL is a reader's key
CSRF_COOKIE = "digest_csrf"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_BODY = 16 * 1024  # a subscribe or preferences form is a few hundred bytes


class SecurityHeaders:
    """Pure ASGI (no per-request task): the headers are added as the response starts. It
    wraps the whole app, Starlette's error page included; an error that reaches it was
    answered with that page already, and is logged in one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = (ARCHIVE_CSP if path.startswith("/archive") else PAGE_CSP).encode()
        private = path.startswith(PRIVATE_PREFIXES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [
                    (b"content-security-policy", csp),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if private:
                    extra.append((b"cache-control", b"no-store"))
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception as exc:  # answered already (a 500 page): one line, not a traceback
            log.error("%s %s: %s: %s", scope.get("method"), path, type(exc).__name__, exc)


class BodyLimit:
    """Bodies over `limit` bytes: a Content-Length over it is answered at once with
    `too_large` (our page), a body streamed past it raises a 413 where it is read."""

    def __init__(self, app: ASGIApp, limit: int, too_large: ASGIApp) -> None:
        self.app, self.limit, self.too_large = app, limit, too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            await self.too_large(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413)
            return message

        await self.app(scope, counted, send)


class Csrf:
    """Tokens for browser forms: the form's token is the HMAC of the visitor's cookie."""

    def __init__(self, signer: Signer, origin: str, secure: bool) -> None:
        self.signer = signer
        self.origin = origin  # scheme://host[:port] of public_url
        self.secure = secure

    def cookie_of(self, request: Request) -> str | None:
        value = request.cookies.get(CSRF_COOKIE)
        return value if value and len(value) <= 64 and value.isascii() else None

    def issue(self, request: Request) -> tuple[str, str | None]:
        """(the form's token, a new cookie value to set, or None when it has one)."""
        cookie = self.cookie_of(request)
        fresh = None if cookie else secrets.token_urlsafe(16)
        return self.signer.mac(CSRF, cookie or fresh or ""), fresh

    def set_cookie(self, response: Response, fresh: str | None) -> None:
        if fresh:
            response.set_cookie(
                CSRF_COOKIE, fresh, httponly=True, samesite="strict", secure=self.secure, path="/"
            )

    def valid(self, request: Request, form: FormData) -> bool:
        origin = request.headers.get("origin")
        if origin not in (None, "null", self.origin, _own_origin(request)):
            return False
        cookie = self.cookie_of(request)
        token = form.get("csrf")
        return bool(cookie and isinstance(token, str) and self.signer.valid(token, CSRF, cookie))


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class ClientLimiter:
    """At most `per_hour` subscribe requests a client in any hour (a sliding window), counted
    in the state database, so every server of the list counts the same requests: a client
    cannot get N an hour from each of them. A request is one short transaction (the one-click
    path never takes it); a client's old hits are deleted as it comes back, and everyone's
    hour-old hits now and then."""

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self.swept = 0.0

    def allow(self, state: State, client: str, now: datetime) -> float:
        """0 when allowed (and counted); else the seconds until the client may try again.
        Runs inside the caller's transaction."""
        since = (now - HOUR).isoformat()
        state.lock(f"client {client}")  # two servers at once: both count, in turn
        sweep = time.monotonic() - self.swept > SWEEP_SECONDS
        if sweep:
            self.swept = time.monotonic()
        state.execute(
            "DELETE FROM client_hits WHERE at <= :since" + ("" if sweep else " AND client = :c"),
            {"since": since, "c": client},
        )
        count, first = state.execute(
            "SELECT COUNT(*), MIN(at) FROM client_hits WHERE client = :c", {"c": client}
        ).one()
        if count >= self.per_hour:
            opens = datetime.fromisoformat(first) + HOUR
            return max(1.0, (opens - now).total_seconds())
        state.execute(
            "INSERT INTO client_hits (client, at) VALUES (:c, :at)",
            {"c": client, "at": now.isoformat()},
        )
        return 0.0


HOUR = timedelta(hours=1)
SWEEP_SECONDS = 600.0  # how often one server deletes every client's hour-old hits


MAX_FIELDS = 64


async def read_form(request: Request) -> FormData:
    """The request's form: urlencoded or multipart, no files, a few small fields. Anything
    else is a 415 or 400 with a reason (a 413 when the body is over MAX_BODY). A urlencoded
    body (every browser form here, and RFC 8058's POST) is split by the standard library:
    a tenth of the cost of the streaming parser, which a 16 KB body does not need."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == FORM_TYPES[0]:
        body = (await request.body()).decode("utf-8", "replace")
        try:
            pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS)
            return FormData([(name, value) for name, value in pairs])
        except ValueError:
            raise HTTPException(400, f"Over {MAX_FIELDS} fields: not a form of ours.") from None
    if kind not in FORM_TYPES:
        raise HTTPException(415, "This address takes a web form (urlencoded or multipart).")
    return await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=4096)


def text_field(form: Mapping[str, object], name: str, limit: int = 400) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value[:limit]
