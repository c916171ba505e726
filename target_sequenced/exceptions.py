"""Errors grouped by what the caller should do about them.

- :class:`InputError`: fix the input (a record or message is invalid); nothing
  of the failing load is written and no STATE passes it.
- :class:`ConfigError`: fix the settings.
- :class:`DestinationError`: the database refused a statement; retrying may help.
"""

from __future__ import annotations

from singer_sdk.exceptions import (
    ConfigValidationError,
    InvalidRecord,
    MissingKeyPropertiesError,
)

_MAX_VALUE_CHARS = 120


def shorten(text: str, limit: int = _MAX_VALUE_CHARS) -> str:
    """Cut text to ``limit`` characters for an error message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def truncate(value: object) -> str:
    """Render a value for an error message, cut to a readable length."""
    return shorten(repr(value))


class TargetSequencedError(Exception):
    """Base class of every error this target raises on purpose."""


class InputError(TargetSequencedError, InvalidRecord):
    """A record or message breaks a rule: the input must be fixed."""

    def __init__(self, message: str, record: dict | None = None) -> None:
        """Keep the SDK's ``InvalidRecord`` shape so SDK callers still catch it."""
        InvalidRecord.__init__(self, message, record or {})
        self.message = message

    def __str__(self) -> str:
        """Return the located message only (the record can be huge)."""
        return self.message


class ConfigError(TargetSequencedError, ConfigValidationError):
    """The settings are invalid: every problem is listed at once."""


class DestinationError(TargetSequencedError):
    """The destination refused a statement; the load was rolled back."""


class MissingKeyError(InputError, MissingKeyPropertiesError):
    """A record lacks a key property, or holds null in one."""


class PayloadError(InputError):
    """An Import API payload breaks the API's rules; nothing of it was translated.

    ``errors`` holds every violation found, each worded as Stitch words it
    (``Request failed validation:...``, ``Record 0 did not conform to schema:...``);
    ``table`` names the payload's table when it has exactly one.
    """

    def __init__(self, errors: list[str], table: str | None = None) -> None:
        """Keep the texts; the message is the texts, one per line."""
        super().__init__("\n".join(errors))
        self.errors = errors
        self.table = table
