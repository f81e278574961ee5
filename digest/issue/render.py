"""Digest -> HTML email (CSS inlined with premailer) and a plain-text part, from jinja2 templates.

Templates come from the user's theme folder first, then the built-in theme, so a user can
override one file (say style.css) and keep the rest.
"""

from __future__ import annotations

import logging
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup
from premailer import Premailer

from digest.errors import RenderError
from digest.models import Digest, Fitting, Item, Rendered, Section

HTML_TEMPLATE = "digest.html"
TEXT_TEMPLATE = "digest.txt"
STYLESHEET = "style.css"
TEXT_WIDTH = 72
RTL_LANGUAGES = {"ar", "fa", "he", "ur", "yi", "ps", "sd", "ug", "dv"}
# Gmail clips a message whose HTML passes 102 KB ("[Message clipped]", the rest behind a link).
GMAIL_CLIP_BYTES = 102 * 1024
# The HTML we allow ourselves: under the clip with room for the headers Gmail counts too.
HTML_BUDGET_BYTES = 100 * 1000


class TemplateFault(RenderError):
    """A broken template, with where it broke, so the preview can show the line."""

    def __init__(self, message: str, path: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


@dataclass(frozen=True, slots=True)
class Layout:
    """How much of the digest the HTML shows in full. Items are counted in reading order:
    the first `full` in full, the rest up to `shown` as title-only lines, the others only
    counted in an "N more stories" link."""

    full: int
    shown: int
    brief_ids: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, items: tuple[Item, ...], full: int, shown: int) -> Layout:
        return cls(full, shown, frozenset(item.entry.id for item in items[full:shown]))


def builtin_templates() -> Path:
    """The built-in theme: inside the package when installed from a wheel, else the repo's."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "default_templates"
    return packaged if packaged.is_dir() else package.parent / "templates"


def make_environment(
    theme: Path | None = None, zone: tzinfo = UTC, today: datetime | None = None
) -> jinja2.Environment:
    """Dates are shown in `zone`, the reader's time zone from the config; a short date carries
    its year when that is not the year of `today` (the digest's own date; default: now)."""
    year = (today or datetime.now(UTC)).astimezone(zone).year
    folders = [str(p) for p in (theme, builtin_templates()) if p is not None and p.is_dir()]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(f) for f in folders]),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters.update(
        shortdate=lambda d: _short_date(d.astimezone(zone), year),
        longdate=lambda d: _long_date(d.astimezone(zone)),
        wrap=lambda text: textwrap.fill(str(text), TEXT_WIDTH, break_on_hyphens=False),
        anchor=lambda text: re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "s",
        weblink=web_link,
        imagelink=image_link,
    )
    return env


def web_link(url: str | None) -> str:
    """An absolute http(s) link, or "" (a relative or other-scheme URL never reaches the email).
    http links stay http: upgrading them would break sites without TLS."""
    parts = urlsplit(url or "")
    return url or "" if parts.scheme in ("http", "https") and parts.netloc else ""


def image_link(url: str | None) -> str:
    """Images only over https: mail clients warn about or block insecure images."""
    parts = urlsplit(url or "")
    return url or "" if parts.scheme == "https" and parts.netloc else ""


def _short_date(moment: datetime, this_year: int | None = None) -> str:
    """ "Mon 7 Dec"; "Tue 7 Dec 2010" when that is not this year."""
    year = f" {moment.year}" if moment.year != this_year else ""
    return f"{moment:%a} {moment.day} {moment:%b}{year}"


def period(start: datetime, end: datetime, zone: tzinfo, this_year: int) -> str:
    """The masthead's "Sat 1 Jan – Mon 7 Dec", with both years when the period spans two (or
    the year when it is not this one)."""
    start, end = start.astimezone(zone), end.astimezone(zone)
    if start.year != end.year:
        return f"{_short_date(start)} – {_short_date(end)}"
    return f"{_short_date(start, start.year)} – {_short_date(end, this_year)}"


def _long_date(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def render(
    digest: Digest,
    theme: Path | None = None,
    zone: tzinfo = UTC,
    web_url: str = "",
    budget: int | None = HTML_BUDGET_BYTES,
) -> Rendered:
    """Both parts of the email. Template errors become RenderError naming file and line.

    `web_url` is where the issue can be read on the web (the archive): the email links to it
    for "view in browser" and for the stories the size budget left out. `budget` caps the
    HTML's bytes (None: no cap, for the archive's web page); the text part is always whole.
    """
    env = make_environment(theme, zone, digest.generated_at)
    context = _context(digest, env, web_url)
    this_year = digest.generated_at.astimezone(zone).year
    context["period"] = period(digest.period_start, digest.period_end, zone, this_year)
    items = digest.items
    everything = Layout.of(items, len(items), len(items))
    html = _html(env, context, everything)
    layout = everything
    if budget is not None and _size(html) > budget:
        html, layout = _fit(env, context, items, budget, _size(html))
    text = _render_template(env, TEXT_TEMPLATE, context)
    return Rendered(
        html=html,
        text=_tidy_text(text),
        preheader=str(context["preheader"]),
        fitting=Fitting(layout.full, layout.shown - layout.full, len(items) - layout.shown),
    )


def _html(env: jinja2.Environment, context: dict[str, object], layout: Layout) -> str:
    html = _render_template(env, HTML_TEMPLATE, {**context, **_shown(context, layout)})
    refuse_unsafe_markup(html)
    return inline_css(html)


# What a theme must not put in an email: mail clients strip or block it, or it runs code.
_FORBIDDEN_MARKUP = {
    "a <script>": re.compile(r"<script\b", re.I),
    "a form": re.compile(r"<(form|input|button|select|textarea)\b", re.I),
    "an external stylesheet": re.compile(r"<link\b[^>]*\bstylesheet\b", re.I),
    "a CSS @import": re.compile(r"<style\b[^>]*>[^<]*@import\b|style=\"[^\"]*@import", re.I),
    "an embedded frame or object": re.compile(r"<(iframe|frame|object|embed)\b", re.I),
}


def refuse_unsafe_markup(html: str) -> None:
    """Feed content is sanitized before it gets here, so a hit is the theme's own markup."""
    for what, pattern in _FORBIDDEN_MARKUP.items():
        if found := pattern.search(html):
            line = html.count("\n", 0, found.start()) + 1
            raise RenderError(
                f"the {HTML_TEMPLATE} template puts {what} in the email (output line {line}); "
                "mail clients strip or block it: remove it"
            )


Fitted = tuple[str, Layout]


def _fit(
    env: jinja2.Environment,
    context: dict[str, object],
    items: tuple[Item, ...],
    budget: int,
    whole_size: int,
) -> Fitted:
    """The fullest layout under `budget`: later items collapse to title-only lines first, and
    only when every item is a title line are the last ones left to the "more stories" link.
    Sizes grow about linearly with items, so the searches start from estimates."""
    count = len(items)

    def fits(layout: Layout) -> Fitted | None:
        html = _html(env, context, layout)
        return (html, layout) if _size(html) <= budget else None

    all_brief = Layout.of(items, 0, count)
    brief_html = _html(env, context, all_brief)
    brief_size = _size(brief_html)
    if brief_size <= budget:
        extra_per_full = max(1, (whole_size - brief_size) // count)
        guess = _bound(count, (budget - brief_size) // extra_per_full)
        fitted = _largest(guess, lambda n: fits(Layout.of(items, n, count)))
        return fitted or (brief_html, all_brief)
    per_line = max(1, brief_size // count)
    guess = _bound(count, budget // per_line)
    fitted = _largest(guess, lambda n: fits(Layout.of(items, 0, n)))
    if fitted is None:
        raise RenderError(f"even an empty digest is over the {budget:,}-byte HTML budget")
    return fitted


def _bound(count: int, estimate: int) -> int:
    """An upper bound for a search: the estimate with room to spare, within 0..count-1."""
    return max(0, min(count - 1, estimate * 2 + 2))


def _largest(upper: int, attempt: Callable[[int], Fitted | None]) -> Fitted | None:
    """The result for the largest n in 0..upper whose attempt succeeds (if n succeeds, so does
    every smaller n): a binary search, a handful of renders. None when even 0 fails."""
    low, high, best = 0, upper, None
    while low <= high:
        middle = (low + high) // 2
        result = attempt(middle)
        if result is None:
            high = middle - 1
        else:
            best, low = result, middle + 1
    return best


def _size(html: str) -> int:
    return len(html.encode("utf-8"))


def _render_template(env: jinja2.Environment, name: str, context: dict[str, object]) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        path = exc.filename or exc.name or name
        message = f"template {path}:{exc.lineno}: {exc.message}"
        raise TemplateFault(message, path, exc.lineno) from None
    except jinja2.TemplateError as exc:
        path, line = _template_location(exc)
        where = f"{path}:{line}: " if path else ""
        raise TemplateFault(f"template error: {where}{exc}", path, line) from None


def _context(digest: Digest, env: jinja2.Environment, web_url: str) -> dict[str, object]:
    items = digest.items
    linked = [item for item in items if web_link(item.entry.link)]
    return {
        "digest": digest,
        "stylesheet": _stylesheet(env),
        "preheader": preheader(items),
        "direction": "rtl" if digest.language.split("-")[0].lower() in RTL_LANGUAGES else "ltr",
        "sources": list(dict.fromkeys(item.entry.feed for item in items)),
        "total_minutes": sum(item.reading_minutes for item in items),
        "linked": linked,
        "link_number": {item.entry.id: number for number, item in enumerate(linked, start=1)},
        "web_url": web_link(web_url),
        # what the HTML shows; the text part uses `digest.sections`, always whole
        "sections": digest.sections,
        "brief_ids": frozenset(),
        "more_count": 0,
    }


def _shown(context: dict[str, object], layout: Layout) -> dict[str, object]:
    """The sections as the HTML shows them under `layout`: items past `shown` left out."""
    digest = context["digest"]
    assert isinstance(digest, Digest)
    kept = {item.entry.id for item in digest.items[: layout.shown]}
    sections = [
        Section(s.title, tuple(i for i in s.items if i.entry.id in kept)) for s in digest.sections
    ]
    return {
        "sections": [s for s in sections if s.items],
        "brief_ids": layout.brief_ids,
        "more_count": len(digest.items) - layout.shown,
    }


def _stylesheet(env: jinja2.Environment) -> Markup:
    """The theme's CSS, trusted (it is the user's own file) and so not HTML-escaped: escaping
    turns quotes and `>` into entities the CSS parser rejects, silently dropping rules."""
    try:
        source, path, _ = env.loader.get_source(env, STYLESHEET)  # type: ignore[union-attr]
    except jinja2.TemplateNotFound:
        raise RenderError(f"no {STYLESHEET} in the theme or the built-in templates") from None
    if re.search(r"</style", source, re.I):
        raise TemplateFault(f"{path}: a stylesheet cannot contain </style>", path or "", None)
    return Markup(source)


def preheader(items: tuple[Item, ...], limit: int = 140) -> str:
    """The inbox preview line: how many stories, then the first stories' titles."""
    count = f"{len(items)} {'story' if len(items) == 1 else 'stories'}: "
    titles = count + " · ".join(item.entry.title for item in items[:4])
    return titles if len(titles) <= limit else titles[: limit - 1].rsplit(" ", 1)[0] + "…"


def inline_css(html: str) -> str:
    """Inline the stylesheet; keep @media rules (with !important) in a <style> block."""
    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)
    inliner = Premailer(
        html,
        allow_network=False,
        strip_important=False,  # the default strips !important and breaks mobile/dark mode
        keep_style_tags=False,
        remove_classes=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
    )
    return str(inliner.transform(pretty_print=False))


def _tidy_text(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    tidy = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return tidy.strip() + "\n"


def _template_location(exc: jinja2.TemplateError) -> tuple[str, int | None]:
    """The template file and line a runtime error happened at (jinja2 maps its frames)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if frame.filename.endswith((".html", ".txt")):
            return frame.filename, frame.lineno
    return "", None
