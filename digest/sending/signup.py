"""The rules of the list, each one transaction on the store (subscribers.py):

- **subscribe** (the form): double opt-in. A new address, or one that left, becomes `pending`
  and is owed a confirmation letter; an address already on the list is owed a letter saying
  so (with its preferences link). The visitor is told the same either way: the form never
  reveals who is subscribed. At most one letter per address an hour (a stranger cannot
  mail-bomb someone through the form); a suppressed address gets none.
- **confirm**: a genuine, unexpired confirmation token turns `pending` into `active`.
- **unsubscribe** (RFC 8058 one-click, the page's button, `subscribers remove`): at once; a
  repeat changes nothing and records nothing.
- **preferences**: the sections a reader gets; pause and resume; come back after leaving.
- **recipients:** in the config are subscribers `sync_config` keeps in step with the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from digest.errors import ConfigError
from digest.sending import subscribers as store
from digest.sending.subscribers import Address, AddressError, Subscriber, parse_address
from digest.state import State

LETTERS_PER_HOUR = 1  # to one address, whatever asks for them
READER_CHOICES = ("one-click", "page", "preferences")  # how readers leave by themselves
LIST_LOCK = "the list"  # taken by whoever adds addresses in bulk (the config, imports)


class Asked(StrEnum):
    """What a subscribe request did (for the log and the tests; the visitor sees one page)."""

    CONFIRM = "confirmation letter queued"
    ALREADY = "already subscribed: letter saying so queued"
    RATE_LIMITED = "a letter went to this address within the hour: nothing queued"
    SUPPRESSED = "the address is suppressed (bounced): nothing queued"


def request_subscription(
    state: State, address: Address, sections: Sequence[str] | None, now: datetime
) -> Asked:
    """The form's POST. Sections apply to a new or pending subscription only: a stranger
    cannot change what an active reader gets."""
    key = address.key
    with state.transaction() as tx:
        tx.lock(f"address {key}")  # two servers asked at once: one letter, one row
        if store.is_suppressed(tx, key):
            return Asked.SUPPRESSED
        if store.letters_since(tx, key, now - timedelta(hours=1)) >= LETTERS_PER_HOUR:
            return Asked.RATE_LIMITED
        row = store.key_row(tx, key)
        if row is None:
            subscriber = store.insert(tx, address, "pending", "form", now, sections)
        elif row[1] in ("pending", "unsubscribed"):
            subscriber = row[0]
            store.change_status(tx, subscriber, "pending", "form", now)
            store.change_sections(tx, subscriber, sections)
        else:
            store.queue_letter(tx, "subscribed", row[0], key, now)
            return Asked.ALREADY
        store.queue_letter(tx, "confirm", subscriber, key, now)
    return Asked.CONFIRM


class Confirmed(StrEnum):
    DONE = "confirmed"
    ALREADY = "already confirmed"
    EXPIRED = "expired"
    GONE = "not pending any more"


def confirm(state: State, subscriber: int, expires: int, now: datetime) -> Confirmed:
    """The confirmation page's button (never its link: scanners follow links)."""
    if expires < now.timestamp():
        return Confirmed.EXPIRED
    with state.transaction() as tx:
        row = store.status_row(tx, subscriber)
        if row is None or row[0] == "unsubscribed":
            return Confirmed.GONE
        if row[0] != "pending":
            return Confirmed.ALREADY
        store.change_status(tx, subscriber, "active", "form", now)
        store.mark_confirmed(tx, subscriber, now)
    return Confirmed.DONE


def unsubscribe(state: State, subscriber: int, via: str, now: datetime) -> bool | None:
    """True: unsubscribed now; False: had already left; None: no such subscriber."""
    with state.transaction() as tx:
        if store.change_status(tx, subscriber, "unsubscribed", via, now):
            return True
        return False if store.status_row(tx, subscriber) is not None else None


@dataclass(frozen=True, slots=True)
class Choice:
    """What the preferences form asks for."""

    sections: tuple[str, ...] | None  # None: every section, also those added later
    receiving: bool  # False: paused


def set_preferences(
    state: State, subscriber: int, choice: Choice, now: datetime
) -> Subscriber | None:
    """Sections, pause or resume. A reader who left and comes back through their own link
    (their mailbox is proven by it) is active again. None: no such subscriber."""
    with state.transaction() as tx:
        row = store.status_row(tx, subscriber)
        if row is None:
            return None
        store.change_sections(tx, subscriber, choice.sections)
        if row[0] != "pending":
            status = "active" if choice.receiving else "paused"
            store.change_status(tx, subscriber, status, "preferences", now)
    return store.get(state, subscriber)


# managed by people: the config, the commands ------------------------------------------------


def sync_config(state: State, recipients: Iterable[str], now: datetime) -> None:
    """`recipients:` as subscribers (via config): a new address is active; one that left the
    file is unsubscribed (via config) and comes back if it returns. A reader in the file who
    unsubscribed themselves stays unsubscribed: their choice wins over the file."""
    wanted = {address.key: address for address in map(_config_address, recipients)}
    with state.transaction() as tx:
        tx.lock(LIST_LOCK)  # several senders start at once: each address inserted once
        known = store.key_rows(tx, wanted)  # a few statements for 10,000 addresses
        new = [address for key, address in wanted.items() if key not in known]
        store.insert_many(tx, new, "active", "config", now)
        for subscriber, status, made_by in known.values():
            if made_by == "config" and status == "unsubscribed":
                back = store.status_row(tx, subscriber)
                if back is not None and back[1] == "config":
                    store.change_status(tx, subscriber, "active", "config", now)
        for subscriber, key, status, _via in store.config_rows(tx):
            if key not in wanted and status != "unsubscribed":
                store.change_status(tx, subscriber, "unsubscribed", "config", now)


def _config_address(text: str) -> Address:
    try:
        return parse_address(text)
    except AddressError as exc:
        raise ConfigError(f"recipients: {exc}") from None


@dataclass(frozen=True, slots=True)
class Added:
    added: list[str]  # new, or back on the list
    already: list[str]  # active already
    refused: list[str]  # they left or paused themselves: not made active without --force


def add(
    state: State,
    addresses: Iterable[tuple[Address, Sequence[str] | None]],
    via: str,
    now: datetime,
    force: bool = False,
) -> Added:
    """Addresses added by a person (`subscribers add`, `import`): active at once, the person
    vouching for their consent. One who left or paused by their own choice is left as they
    are unless `force`."""
    done = Added([], [], [])
    with state.transaction() as tx:
        tx.lock(LIST_LOCK)
        for address, sections in addresses:
            row = store.key_row(tx, address.key)
            if row is None:
                store.insert(tx, address, "active", via, now, sections)
                done.added.append(address.email)
                continue
            subscriber, status, _ = row
            by_choice = status in ("unsubscribed", "paused") and _left_by_choice(tx, subscriber)
            if by_choice and not force:
                done.refused.append(address.email)
                continue
            if sections is not None:
                store.change_sections(tx, subscriber, sections)
            if store.change_status(tx, subscriber, "active", via, now):
                done.added.append(address.email)
            else:
                done.already.append(address.email)
    return done


def _left_by_choice(tx: State, subscriber: int) -> bool:
    row = store.status_row(tx, subscriber)
    return row is not None and row[1] in READER_CHOICES


def remove(
    state: State, addresses: Iterable[Address], now: datetime
) -> tuple[list[str], list[str]]:
    """`subscribers remove`: (unsubscribed now, not on the list)."""
    removed: list[str] = []
    absent: list[str] = []
    with state.transaction() as tx:
        for address in addresses:
            row = store.key_row(tx, address.key)
            if row is None or row[1] == "unsubscribed":
                absent.append(address.email)
            else:
                store.change_status(tx, row[0], "unsubscribed", "command", now)
                removed.append(address.email)
    return removed, absent
