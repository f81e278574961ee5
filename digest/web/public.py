"""The public side of `digest serve`: a Starlette app (uvicorn runs it, serve.py).

    GET  /  /subscribe         the form (field `email`, a contract; ?email= fills it in)
    POST /subscribe            double opt-in: a confirmation letter, the same answer for all
    GET  /confirm/TOKEN        a page with one button; POST (the button) confirms
    GET  /u/TOKEN              a page with one button; POST List-Unsubscribe=One-Click
                               (RFC 8058, as a mailbox provider sends it) unsubscribes at once
    GET  /p/TOKEN              preferences: sections, pause, come back; POST saves
    GET  /archive/             the archive `digest send` writes: issues, index, Atom feed
    GET  /healthz              "ok": for a load balancer (and the benchmark's bare endpoint)

Tokens are signed (digest/sending/tokens.py): no address in any URL. Each action is one short
transaction (digest/sending/signup.py); a lock held by `digest send` or another server is
waited for on a thread of its own (`Database`), never on the event loop. Every error is a
page with a 4xx status and a sentence; nothing a visitor sends can crash the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from digest.config.settings import Settings
from digest.sending import signup
from digest.sending.links import CONFIRM, PREFERENCES, UNSUBSCRIBE, Links
from digest.sending.subscribers import AddressError, Subscriber, get, parse_address
from digest.state import State
from digest.web.database import Database
from digest.web.guard import (
    MAX_BODY,
    BodyLimit,
    ClientLimiter,
    Csrf,
    SecurityHeaders,
    origin_of,
    read_form,
    text_field,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

HEADINGS = {
    400: "This link or form is not valid",
    403: "Please use the form on this site",
    404: "Nothing here",
    405: "Not allowed here",
    413: "Too large",
    415: "Not a form",
    429: "Too many requests",
    500: "Something went wrong on our side",
}
GONE = "This address is not waiting to be confirmed. Subscribe again."
BAD_LINK = (
    "The link is not one of ours, or it was cut short or changed on the way. Use the link in "
    "your latest email as it is."
)


@dataclass
class Site:
    """What the pages need: the settings, the links, the database, the clock, the
    per-client limit, and `wake` to tell the postman a letter waits."""

    settings: Settings
    links: Links
    clock: Callable[[], datetime]
    wake: Callable[[], None]
    limiter: ClientLimiter
    csrf: Csrf
    pages: jinja2.Environment
    db: Database

    def close(self) -> None:
        self.db.close()

    @property
    def title(self) -> str:
        return self.settings.title

    def url(self, path: str) -> str:
        return f"{self.links.public_url}{path}"


def page_environment() -> jinja2.Environment:
    folder = Path(__file__).parent / "templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # the pages ship with the package: no stat() per request
    )


def masked(email: str) -> str:
    """Enough of the reader's own address to recognise it, not enough to read it off a
    forwarded email's page: r•••@example.org."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"


class Pages:
    def __init__(self, site: Site) -> None:
        self.site = site

    # rendering -----------------------------------------------------------------------------

    def render(self, name: str, code: int = 200, /, **values: Any) -> HTMLResponse:
        site = self.site
        body = site.pages.get_template(f"public/{name}").render(
            title=site.title,
            archive_url=site.url("archive/"),
            home=site.url("subscribe"),
            **values,
        )
        return HTMLResponse(body, status_code=code)

    def with_form(self, request: Request, name: str, code: int = 200, **values: Any) -> Response:
        """A page with a form: its CSRF token, and the cookie it is bound to when new."""
        token, fresh = self.site.csrf.issue(request)
        response = self.render(name, code, csrf=token, **values)
        self.site.csrf.set_cookie(response, fresh)
        return response

    # subscribe ------------------------------------------------------------------------------

    def subscribe_page(
        self,
        request: Request,
        email: str = "",
        chosen: list[str] | None = None,
        problem: str = "",
        status: int = 200,
    ) -> Response:
        sections = self.site.settings.section_titles()
        return self.with_form(
            request,
            "subscribe.html",
            status,
            action=self.site.url("subscribe"),
            email=email[:320],
            sections=sections,
            chosen=sections if chosen is None else chosen,
            problem=problem,
        )

    async def subscribe_form(self, request: Request) -> Response:
        return self.subscribe_page(request, request.query_params.get("email", ""))

    async def subscribe(self, request: Request) -> Response:
        form = await read_form(request)
        email = text_field(form, "email", 400).strip()
        chosen = self._chosen(form)
        if not self.site.csrf.valid(request, form):  # another site's form: ask once more here
            note = "Press Subscribe to confirm that you want this."
            return self.subscribe_page(request, email, chosen or None, note)
        if text_field(form, "website"):  # the honeypot: only a robot fills it in
            return self._sent(email)
        client = request.client.host if request.client else "?"
        asked_at = self.site.clock()
        wait = await self.site.db.write(
            lambda state: self.site.limiter.allow(state, client, asked_at)
        )
        if wait:
            minutes = max(1, round(wait / 60))
            raise HTTPException(
                429,
                f"Too many subscribe requests from your network; try again in {minutes} minutes.",
                {"Retry-After": str(int(wait))},
            )
        try:
            address = parse_address(email)
        except AddressError as exc:
            problem = f"That address cannot receive mail: {str(exc).split(': ', 1)[-1]}."
            return self.subscribe_page(request, email, chosen or None, problem, 400)
        if not chosen:
            problem = "Choose at least one section."
            return self.subscribe_page(request, email, [], problem, 400)
        every = set(chosen) == set(self.site.settings.section_titles())
        sections = None if every else chosen
        now = self.site.clock()
        asked = await self.site.db.write(
            lambda state: signup.request_subscription(state, address, sections, now)
        )
        log.info("subscribe: %s", asked)
        if asked in (signup.Asked.CONFIRM, signup.Asked.ALREADY):
            self.site.wake()
        return self._sent(address.email)

    def _sent(self, email: str) -> Response:
        hours = round(self.site.settings.serve.confirm_lifetime.total_seconds() / 3600)
        return self.render("sent.html", email=email[:320], hours=hours)

    def _chosen(self, form: FormData) -> list[str]:
        """The sections ticked; every section when the form offered none (a form on another
        site that asks only for `email`)."""
        known = self.site.settings.section_titles()
        if len(known) <= 1 or form.get("choosing") != "sections":
            return known
        asked = {value for value in form.getlist("sections") if isinstance(value, str)}
        return [section for section in known if section in asked]

    # confirm -------------------------------------------------------------------------------

    def _confirm_token(self, request: Request) -> tuple[int, int]:
        read = self.site.links.signer.read_confirm(request.path_params["token"])
        if read is None:
            raise HTTPException(400, BAD_LINK)
        if read[1] < self.site.clock().timestamp():
            raise HTTPException(400, "This confirmation link has expired. Subscribe again.")
        return read

    async def confirm_page(self, request: Request) -> Response:
        self._confirm_token(request)
        action = self.site.url(CONFIRM + request.path_params["token"])
        return self.with_form(request, "confirm.html", action=action)

    async def confirm(self, request: Request) -> Response:
        subscriber, expires = self._confirm_token(request)
        form = await read_form(request)
        if not self.site.csrf.valid(request, form):
            raise HTTPException(403, "Press the button on the confirmation page to confirm.")
        now = self.site.clock()
        done = await self.site.db.write(
            lambda state: signup.confirm(state, subscriber, expires, now)
        )
        if done is signup.Confirmed.GONE:
            raise HTTPException(400, GONE)
        if done is signup.Confirmed.EXPIRED:
            raise HTTPException(400, "This confirmation link has expired. Subscribe again.")
        message = (
            f"You will get the next issue of {self.site.title}."
            if done is signup.Confirmed.DONE
            else "You had confirmed already: nothing changed."
        )
        return self.render(
            "confirmed.html",
            heading="You are subscribed",
            message=message,
            preferences=self.site.links.preferences(subscriber),
        )

    # unsubscribe (RFC 8058) ---------------------------------------------------------------------

    async def _reader(self, request: Request) -> Subscriber:
        subscriber = self.site.links.signer.read_manage(request.path_params["token"])
        found = (
            None if subscriber is None else await self.site.db.read(lambda s: get(s, subscriber))
        )
        if found is None:
            raise HTTPException(400, BAD_LINK)
        return found

    def _own_links(self, subscriber: Subscriber) -> dict[str, str]:
        links = self.site.links
        return {
            "unsubscribe": links.unsubscribe(subscriber.id),
            "preferences": links.preferences(subscriber.id),
            "masked": masked(subscriber.email),
        }

    async def unsubscribe_page(self, request: Request) -> Response:
        subscriber = await self._reader(request)
        own = self._own_links(subscriber)
        return self.render(
            "unsubscribe.html", subscriber=subscriber, action=own["unsubscribe"], **own
        )

    async def one_click(self, request: Request) -> Response:
        """RFC 8058: the body is List-Unsubscribe=One-Click; answer 200, no redirect, no
        cookie, nothing else asked. The page's own button posts the same and gets a page; a
        mailbox provider, which shows nobody the answer, a line of text."""
        subscriber = self.site.links.signer.read_manage(request.path_params["token"])
        if subscriber is None:
            raise HTTPException(400, BAD_LINK)
        if not await _is_one_click(request):
            raise HTTPException(
                400, "An unsubscribe is a POST of List-Unsubscribe=One-Click (RFC 8058)."
            )
        same_site = request.headers.get("sec-fetch-site") == "same-origin"
        via = "page" if same_site else "one-click"
        now = self.site.clock()
        if "text/html" not in request.headers.get("accept", ""):  # a mailbox provider
            done = await self.site.db.write(
                lambda state: signup.unsubscribe(state, subscriber, via, now)
            )
            if done is None:
                raise HTTPException(400, BAD_LINK)
            return PlainTextResponse(f"Unsubscribed: no more issues of {self.site.title}.\n")
        left = await self.site.db.write(lambda state: _leave(state, subscriber, via, now))
        if left is None:
            raise HTTPException(400, BAD_LINK)
        return self.render("unsubscribed.html", **self._own_links(left))

    # preferences ---------------------------------------------------------------------------

    def preferences_page(
        self, request: Request, subscriber: Subscriber, status: int = 200, **values: Any
    ) -> Response:
        sections = self.site.settings.section_titles()
        own = self._own_links(subscriber)
        chosen = values.pop("chosen", None)
        if chosen is None:
            chosen = sections if subscriber.sections is None else list(subscriber.sections)
        return self.with_form(
            request,
            "preferences.html",
            status,
            subscriber=subscriber,
            action=own["preferences"],
            sections=sections,
            chosen=chosen,
            receiving=subscriber.status in ("active", "pending"),
            saved=values.pop("saved", ""),
            problem=values.pop("problem", ""),
            **own,
        )

    async def preferences(self, request: Request) -> Response:
        return self.preferences_page(request, await self._reader(request))

    async def save_preferences(self, request: Request) -> Response:
        subscriber = await self._reader(request)
        form = await read_form(request)
        if not self.site.csrf.valid(request, form):
            raise HTTPException(403, "Save your preferences from their page.")
        chosen = self._chosen(form)
        if not chosen:
            problem = "Choose at least one section, or pause, or unsubscribe."
            return self.preferences_page(request, subscriber, 400, problem=problem, chosen=[])
        every = set(chosen) == set(self.site.settings.section_titles())
        choice = signup.Choice(None if every else tuple(chosen), form.get("receive") != "no")
        now = self.site.clock()
        saved = await self.site.db.write(
            lambda state: signup.set_preferences(state, subscriber.id, choice, now)
        )
        if saved is None:
            raise HTTPException(400, BAD_LINK)
        note = {
            "active": "Saved. You get the sections ticked above.",
            "paused": "Saved. Paused: no issue goes to you until you choose to get them again.",
        }.get(saved.status, "Saved.")
        return self.preferences_page(request, saved, saved=note)

    async def health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def home(self, request: Request) -> Response:
        return await self.subscribe_form(request)


ONE_CLICK = b"List-Unsubscribe=One-Click"
URLENCODED = "application/x-www-form-urlencoded"


async def _is_one_click(request: Request) -> bool:
    """The body RFC 8058 prescribes: as every provider sends it (compared as bytes), or in any
    other form encoding (read as a form)."""
    urlencoded = request.headers.get("content-type", "").startswith(URLENCODED)
    if urlencoded and (await request.body()).strip() == ONE_CLICK:
        return True
    form = await read_form(request)
    return form.get("List-Unsubscribe") == "One-Click"


def _leave(state: State, subscriber: int, via: str, now: datetime) -> Subscriber | None:
    if signup.unsubscribe(state, subscriber, via, now) is None:
        return None
    return get(state, subscriber)


class Archive(StaticFiles):
    """The folder `digest send` writes; before the first issue it does not exist: a 404."""

    async def check_config(self) -> None:
        if self.directory is None or not Path(self.directory).is_dir():
            raise HTTPException(404, "No issue has been published yet.")
        await super().check_config()


def make_app(site: Site) -> ASGIApp:
    pages = Pages(site)
    archive = Archive(directory=site.settings.archive_path, html=True, check_dir=False)
    routes = [  # the one-click first: the route a mailbox provider's burst hits
        Route(f"/{UNSUBSCRIBE}{{token}}", pages.one_click, methods=["POST"]),
        Route(f"/{UNSUBSCRIBE}{{token}}", pages.unsubscribe_page, methods=["GET"]),
        Route("/", pages.home, methods=["GET"]),
        Route("/subscribe", pages.subscribe_form, methods=["GET"]),
        Route("/subscribe", pages.subscribe, methods=["POST"]),
        Route(f"/{CONFIRM}{{token}}", pages.confirm_page, methods=["GET"]),
        Route(f"/{CONFIRM}{{token}}", pages.confirm, methods=["POST"]),
        Route(f"/{PREFERENCES}{{token}}", pages.preferences, methods=["GET"]),
        Route(f"/{PREFERENCES}{{token}}", pages.save_preferences, methods=["POST"]),
        Route("/archive", lambda r: RedirectResponse(site.url("archive/"), 308)),
        Mount("/archive", archive),
        Route("/healthz", pages.health, methods=["GET"]),
    ]

    async def error_page(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 500:
            log.error("error on %s %s: %r", request.method, request.url.path, exc)
        detail = exc.detail if isinstance(exc, HTTPException) else ""
        message = _message(status, detail)
        response = pages.render(
            "error.html", status, status=status, heading=_heading(status), message=message
        )
        for name, value in (getattr(exc, "headers", None) or {}).items():
            response.headers[name] = value
        return response

    async def too_large(scope: Scope, receive: Receive, send: Send) -> None:
        response = await error_page(Request(scope, receive), HTTPException(413))
        await response(scope, receive, send)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(BodyLimit, limit=MAX_BODY, too_large=too_large)],
        exception_handlers={HTTPException: error_page, Exception: error_page},
    )
    return SecurityHeaders(app)


def _heading(status: int) -> str:
    return HEADINGS.get(status, "This request cannot be answered")


def _message(status: int, detail: str) -> str:
    generic = {
        404: "There is no page at this address.",
        405: "This page does not take that kind of request.",
        413: f"The request is over {MAX_BODY // 1024} KB: a form here is far smaller.",
        500: "Nothing was changed. Please try again in a minute.",
    }
    if status in generic and (not detail or detail in _STARLETTE_DEFAULTS):
        return generic[status]
    return detail or generic.get(status, "The request could not be answered.")


_STARLETTE_DEFAULTS = {"Not Found", "Method Not Allowed", "Content Too Large"}


def site_for(
    settings: Settings,
    links: Links,
    clock: Callable[[], datetime],
    wake: Callable[[], None],
) -> Site:
    return Site(
        settings=settings,
        links=links,
        clock=clock,
        wake=wake,
        limiter=ClientLimiter(settings.serve.subscribes_per_hour),
        csrf=Csrf(links.signer, origin_of(links.public_url), links.public_url.startswith("https:")),
        pages=page_environment(),
        db=Database(settings.database),
    )
