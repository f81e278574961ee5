"""Digest -> HTML email (CSS inlined with premailer) and a plain-text part, from jinja2 templates.

Templates come from the user's theme folder first, then the built-in theme, so a user can
override one file (say style.css) and keep the rest.
"""

from __future__ import annotations

import logging
import re
import textwrap
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import jinja2
from premailer import Premailer

from digest.errors import RenderError
from digest.models import Digest, Item, Rendered

HTML_TEMPLATE = "digest.html"
TEXT_TEMPLATE = "digest.txt"
STYLESHEET = "style.css"
TEXT_WIDTH = 72
RTL_LANGUAGES = {"ar", "fa", "he", "ur", "yi", "ps", "sd", "ug", "dv"}


def builtin_templates() -> Path:
    """The built-in theme: inside the package when installed from a wheel, else the repo's."""
    packaged = Path(__file__).parent / "default_templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "templates"


def make_environment(theme: Path | None = None, zone: tzinfo = UTC) -> jinja2.Environment:
    """Dates are shown in `zone`, the reader's time zone from the config."""
    folders = [str(p) for p in (theme, builtin_templates()) if p is not None and p.is_dir()]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(f) for f in folders]),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters.update(
        shortdate=lambda d: _short_date(d.astimezone(zone)),
        longdate=lambda d: _long_date(d.astimezone(zone)),
        wrap=lambda text: textwrap.fill(str(text), TEXT_WIDTH, break_on_hyphens=False),
        anchor=lambda text: re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "s",
    )
    return env


def _short_date(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}"


def _long_date(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def render(digest: Digest, theme: Path | None = None, zone: tzinfo = UTC) -> Rendered:
    """Both parts of the email. Template errors become RenderError naming file and line."""
    env = make_environment(theme, zone)
    context = _context(digest, env)
    pre = preheader(digest.items)
    try:
        html = env.get_template(HTML_TEMPLATE).render(context)
        text = env.get_template(TEXT_TEMPLATE).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(
            f"template {exc.filename or exc.name}:{exc.lineno}: {exc.message}"
        ) from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"template error: {_template_location(exc)}{exc}") from None
    return Rendered(html=inline_css(html), text=_tidy_text(text), preheader=pre)


def _context(digest: Digest, env: jinja2.Environment) -> dict[str, object]:
    items = digest.items
    linked = [item for item in items if item.entry.link]
    return {
        "digest": digest,
        "stylesheet": _stylesheet(env),
        "preheader": preheader(items),
        "direction": "rtl" if digest.language.split("-")[0].lower() in RTL_LANGUAGES else "ltr",
        "sources": list(dict.fromkeys(item.entry.feed for item in items)),
        "total_minutes": sum(item.reading_minutes for item in items),
        "linked": linked,
        "link_number": {item.entry.id: number for number, item in enumerate(linked, start=1)},
    }


def _stylesheet(env: jinja2.Environment) -> str:
    try:
        source, _, _ = env.loader.get_source(env, STYLESHEET)  # type: ignore[union-attr]
    except jinja2.TemplateNotFound:
        raise RenderError(f"no {STYLESHEET} in the theme or the built-in templates") from None
    return source


def preheader(items: tuple[Item, ...], limit: int = 140) -> str:
    """The inbox preview line: the first stories' titles."""
    titles = " · ".join(item.entry.title for item in items[:4])
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


def _template_location(exc: jinja2.TemplateError) -> str:
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if frame.filename.endswith((HTML_TEMPLATE, TEXT_TEMPLATE)):
            return f"{frame.filename}:{frame.lineno}: "
    return ""
