"""The links in every message and page: where a reader unsubscribes (RFC 8058 one-click),
chooses sections, confirms. Each carries a signed token (tokens.py), never an address, under
`public_url:`. The paths are the public server's routes (digest/web/public.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from digest.config.settings import Settings
from digest.sending.tokens import Signer
from digest.state import State

UNSUBSCRIBE = "u/"
PREFERENCES = "p/"
CONFIRM = "confirm/"
SECRET_KEY = "link_secret"  # meta key of the secret made once when serve.secret_env is unset


@dataclass(frozen=True, slots=True)
class Links:
    public_url: str  # ends in "/"
    signer: Signer
    confirm_lifetime: timedelta

    def unsubscribe(self, subscriber: int) -> str:
        return f"{self.public_url}{UNSUBSCRIBE}{self.signer.manage_token(subscriber)}"

    def preferences(self, subscriber: int) -> str:
        return f"{self.public_url}{PREFERENCES}{self.signer.manage_token(subscriber)}"

    def confirm(self, subscriber: int, asked_at: datetime) -> str:
        expires = int((asked_at + self.confirm_lifetime).timestamp())
        return f"{self.public_url}{CONFIRM}{self.signer.confirm_token(subscriber, expires)}"


def signer_for(settings: Settings, state: State) -> Signer:
    """The list's signer: the secret from serve.secret_env, else the one kept in the state
    database (made on first use); the list is the database's install id."""
    secret = settings.serve.secret()
    if secret is None:
        secret = state.kept_random(SECRET_KEY, 32).encode("ascii")
    return Signer(secret, state.install_id())


def links_for(settings: Settings, state: State, public_url: str | None = None) -> Links | None:
    """The links under public_url (or `public_url` given: serve on loopback without one);
    None when there is no public side to link to."""
    base = public_url or settings.public_url
    if not base:
        return None
    return Links(base, signer_for(settings, state), settings.serve.confirm_lifetime)
