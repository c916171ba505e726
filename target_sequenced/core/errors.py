"""Errors grouped by what the user should do about them, each with its exit status.

- :class:`InputError` (exit 1): fix the input. Everything received before the
  bad line is committed and its STATE emitted; nothing of the line is written.
- :class:`ConfigError` (exit 2): fix the settings or the command line.
- :class:`DestinationError` (exit 3): the database is unreachable or refused
  the work after the retries; nothing of the failed load is written.
- :class:`OutOfMemoryError` (exit 4): the process could not get the memory it
  needed; nothing of the load under way is written.

The core knows nothing of the Singer SDK, so these do not subclass the SDK's
exceptions: nothing in the SDK catches them on our behalf.
"""

from __future__ import annotations

import contextlib
import typing as t

import duckdb

MAX_VALUE_CHARS = 120

EXIT_INPUT = 1
EXIT_CONFIG = 2
EXIT_DESTINATION = 3
EXIT_MEMORY = 4


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Cut text to ``limit`` characters for an error message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class TargetSequencedError(Exception):
    """Base class of every error this target raises on purpose."""

    exit_status: t.ClassVar[int] = EXIT_INPUT
    remedy: str = ""
    """What to do about it, appended to the one-line message when set."""

    def __init__(self, message: str, *, remedy: str = "") -> None:
        """Keep the located message, and the remedy if there is one."""
        # Not super(): adapters mix in their framework's exceptions, whose
        # constructors take other arguments.
        Exception.__init__(self, message)
        self.message = message
        self.remedy = remedy

    def __str__(self) -> str:
        """The message only (records can be huge)."""
        return self.message

    def one_line(self) -> str:
        """Message and remedy as the single line the command prints."""
        return f"{self.message} ({self.remedy})" if self.remedy else self.message


class InputError(TargetSequencedError):
    """A line, message or record breaks a rule: the input must be fixed."""

    exit_status = EXIT_INPUT


class InvalidLineError(InputError):
    """A line is not a message: not UTF-8, not JSON, or of no known shape or type."""


class SchemaError(InputError):
    """A SCHEMA message cannot be used: no properties, invalid JSON Schema, a changed key."""


class RecordBeforeSchemaError(InputError):
    """A RECORD came for a stream that had no SCHEMA yet."""


class InvalidRecordError(InputError):
    """A record breaks its schema or a loading rule."""


class MissingKeyError(InvalidRecordError):
    """A record lacks a key property, or holds null in one."""


class PayloadError(InputError):
    """An Import API payload breaks the API's rules; nothing of it is loaded.

    ``errors`` holds every violation found, each worded as Stitch words it
    (``Request failed validation:...``, ``Record 0 did not conform to schema:...``);
    ``table`` names the payload's table when it has exactly one.
    """

    def __init__(self, errors: list[str], table: str | None = None) -> None:
        """Keep the texts; the message is the texts, one per line."""
        super().__init__("\n".join(errors))
        self.errors = errors
        self.table = table


class ConfigError(TargetSequencedError):
    """The settings are invalid: every problem is listed at once."""

    exit_status = EXIT_CONFIG

    def __init__(self, message: str, *, errors: list[str] | None = None, remedy: str = "") -> None:
        """Keep every problem, for callers that list them."""
        super().__init__(message, remedy=remedy)
        self.errors = errors or [message]


class DestinationError(TargetSequencedError):
    """The destination refused a statement or stayed unreachable; the load was rolled back."""

    exit_status = EXIT_DESTINATION


class OutOfMemoryError(TargetSequencedError):
    """An allocation failed (Python's or DuckDB's); the load under way was not committed."""

    exit_status = EXIT_MEMORY

    def __init__(self, said: str, *, during: str = "") -> None:
        """``said``: the allocator's own words; ``during``: what the run was doing."""
        self.said = said
        self.during = during
        where = f" while {during}" if during else ""
        super().__init__(
            f"out of memory{where}: {said}; what was committed before, and its STATE, stands",
            remedy="give the process more memory (ulimit -v, the container's limit), raise the "
            "memory_limit of the DuckDB URL if it sets one, or lower batch_size_rows; then "
            "resume from the last STATE",
        )

    @classmethod
    def from_exception(cls, exc: BaseException, *, during: str = "") -> OutOfMemoryError:
        """The first line of the allocator's own message, and what the run was doing."""
        if isinstance(exc, OutOfMemoryError):
            return cls(exc.said, during=exc.during or during)
        said = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return cls(said, during=during)


@contextlib.contextmanager
def out_of_memory_while(during: str) -> t.Iterator[None]:
    """Out of memory in the block (Python's, DuckDB's) says what the run was doing."""
    try:
        yield
    except (MemoryError, duckdb.OutOfMemoryException, OutOfMemoryError) as exc:
        raise OutOfMemoryError.from_exception(exc, during=during) from exc
