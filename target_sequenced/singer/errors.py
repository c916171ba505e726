"""The core's input errors as the SDK's exception classes too, for callers that catch those.

The core knows nothing of the SDK; the SDK's test templates and SDK-based
tools expect its classes (``RecordsWithoutSchemaException`` for a RECORD
before its SCHEMA, ``MissingKeyPropertiesError``, ``InvalidRecord``,
``InvalidInputLine``). Each error here is both: the core's class (its exit
status, its message) and the SDK's.
"""

from __future__ import annotations

from singer_sdk.exceptions import (
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_sequenced.core.errors import (
    InputError,
    InvalidLineError,
    InvalidRecordError,
    MissingKeyError,
    RecordBeforeSchemaError,
    SchemaError,
)


class SingerRecordBeforeSchemaError(RecordBeforeSchemaError, RecordsWithoutSchemaException):
    """A RECORD before its SCHEMA."""


class SingerMissingKeyError(MissingKeyError, MissingKeyPropertiesError):
    """A record without its key."""


class SingerInvalidRecordError(InvalidRecordError, InvalidRecord):
    """A record that breaks its schema or a loading rule."""

    def __init__(self, message: str, *, remedy: str = "") -> None:
        """The SDK's ``InvalidRecord`` carries the message and the record."""
        super().__init__(message, remedy=remedy)
        self.error_message = message
        self.record: dict = {}


class SingerInvalidLineError(InvalidLineError, InvalidInputLine):
    """A line that is no message."""


class SingerSchemaError(SchemaError, InvalidInputLine):
    """A SCHEMA message that cannot be used."""


_FLAVOURS: tuple[tuple[type[InputError], type[InputError]], ...] = (
    (RecordBeforeSchemaError, SingerRecordBeforeSchemaError),
    (MissingKeyError, SingerMissingKeyError),
    (InvalidRecordError, SingerInvalidRecordError),
    (InvalidLineError, SingerInvalidLineError),
    (SchemaError, SingerSchemaError),
)


def for_the_sdk(error: InputError) -> InputError:
    """The same error, of the SDK's class too."""
    for ours, both in _FLAVOURS:
        if isinstance(error, ours) and not isinstance(error, both):
            return both(error.message, remedy=error.remedy)
    return error
