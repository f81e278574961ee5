"""The state database: one store for everything digest keeps (feeds' cache, entries, issues
and their outbox, subscribers, suppression, letters, the scheduler's runs), on SQLite (the
default: the file `state_db` names) or PostgreSQL (`database_url:`), through SQLAlchemy Core.

engine.py   a URL to an engine; every difference between the two engines, in one place
schema.py   the tables, and how a database reaches the current version (migrations)
store.py    State: the connection, transactions, the feeds' cache, entries, article pages
copy.py     one database's rows into another, verified (`digest db copy`)

May import: errors, models.
"""

from digest.state.engine import StateError, Target, mask, target
from digest.state.schema import VERSION
from digest.state.store import CachedPage, FeedCache, FeedRecord, State, utcnow

__all__ = [
    "VERSION",
    "CachedPage",
    "FeedCache",
    "FeedRecord",
    "State",
    "StateError",
    "Target",
    "mask",
    "target",
    "utcnow",
]
