"""Canonical URLs: two links name the same page when they differ only in scheme, `www.`, the
fragment, tracking parameters or a trailing slash. Pure."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that track the reader, not the page: dropped before comparing links.
TRACKING_PARAMETERS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|ref|ref_src|_hsenc|_hsmi|"
    r"mkt_tok|yclid|cmpid|ncid|sr_share|share)$",
    re.I,
)

_PLAIN_URL = re.compile(r"https?://([A-Za-z0-9.-]+)(?::[0-9]+)?(/[^?#]*)?", re.A)


def canonical_url(url: str) -> str:
    """Scheme, `www.`, fragment, tracking parameters and trailing slash do not make a new page."""
    url = url.strip()
    if plain := _PLAIN_URL.fullmatch(url):  # no query or user: the common case, fast
        host = plain.group(1).lower().removeprefix("www.")
        return f"https://{host}{(plain.group(2) or '').rstrip('/') or '/'}"
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKING_PARAMETERS.match(k)
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, urlencode(query), ""))
