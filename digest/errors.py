"""The exception tree. Every message names its subject, the cause and, where one helps, a hint.

DigestError                 base; the CLI turns it into one line and an exit code
├── ConfigError             config file unreadable, unknown key, wrong type (exit 2)
├── FeedError               one feed could not be fetched or parsed (isolated per feed)
├── ExtractError            an article page could not be fetched or extracted (exit 3)
├── RenderError             a template is missing or broken (file and line in the message)
└── DeliveryError           writing output or talking to SMTP failed (exit 4)
"""

from __future__ import annotations


class DigestError(Exception):
    """Base of every error digest reports to a user as one line."""

    exit_code = 1


class ConfigError(DigestError):
    exit_code = 2


class FeedError(DigestError):
    def __init__(self, feed: str, reason: str) -> None:
        super().__init__(f"feed {feed!r}: {reason}")
        self.feed = feed
        self.reason = reason


class ExtractError(DigestError):
    """An article page could not be fetched, read or extracted: a failed input (exit 3)."""

    exit_code = 3


class RenderError(DigestError):
    exit_code = 3


class DeliveryError(DigestError):
    exit_code = 4


class NothingToBuild(DigestError):
    """Every feed failed, or no entry fell in the window: there is no digest to write.
    `reports` are the feeds' reports (FeedReport), for the run summary."""

    exit_code = 3

    def __init__(self, message: str, reports: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.reports = reports
