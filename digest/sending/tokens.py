"""Signed links: what a URL may carry instead of an address. Pure: no clock, no database.

A token is `<id>.<mac>` (a subscriber's links to unsubscribe and to their preferences: they
never expire, RFC 8058 wants old mail's links to keep working) or `<id>.<expires>.<mac>` (a
confirmation link, that expires). The MAC is HMAC-SHA256 under the list's secret over the kind,
the list (the state database's install id) and the fields, cut to 128 bits and base64url'd.
A token from another list, of another kind, tampered with or expired reads as None; the
comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

MAC_BYTES = 16
MANAGE = "manage"  # unsubscribe (RFC 8058 one-click) and preferences
CONFIRM = "confirm"  # the double opt-in
CSRF = "csrf"  # a form's token, bound to its cookie (digest/web)


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs and reads the tokens of one list."""

    secret: bytes = field(repr=False)
    list_key: str  # the install id: a token of one list means nothing to another
    keyed: Any = field(init=False, repr=False, compare=False)  # the HMAC with its key set

    def __post_init__(self) -> None:
        # the key is processed once; each MAC copies it (a one-click burst checks thousands)
        object.__setattr__(self, "keyed", hmac.new(self.secret, digestmod=hashlib.sha256))

    def mac(self, kind: str, *fields: str) -> str:
        keyed = self.keyed.copy()
        keyed.update("\n".join((kind, self.list_key, *fields)).encode("utf-8"))
        digest = keyed.digest()[:MAC_BYTES]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def valid(self, mac: str, kind: str, *fields: str) -> bool:
        return mac.isascii() and hmac.compare_digest(mac, self.mac(kind, *fields))

    def manage_token(self, subscriber: int) -> str:
        return f"{subscriber}.{self.mac(MANAGE, str(subscriber))}"

    def read_manage(self, token: str) -> int | None:
        """The subscriber a manage token names; None when it is not one of ours."""
        parts = token.split(".")
        if len(parts) != 2 or not _is_id(parts[0]):
            return None
        return int(parts[0]) if self.valid(parts[1], MANAGE, parts[0]) else None

    def confirm_token(self, subscriber: int, expires: int) -> str:
        """`expires`: Unix seconds."""
        return f"{subscriber}.{expires}.{self.mac(CONFIRM, str(subscriber), str(expires))}"

    def read_confirm(self, token: str) -> tuple[int, int] | None:
        """(subscriber, expires) of a genuine confirm token; the caller checks the time."""
        parts = token.split(".")
        if len(parts) != 3 or not (_is_id(parts[0]) and _is_id(parts[1])):
            return None
        if not self.valid(parts[2], CONFIRM, parts[0], parts[1]):
            return None
        return int(parts[0]), int(parts[1])


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < len(text) < 19
