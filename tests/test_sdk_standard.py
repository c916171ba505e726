"""The SDK's standard target tests on DuckDB and PostgreSQL, each checked against the tables.

The SDK's tests only check that a run does not crash (or that it raises). Each
one here subclasses the SDK's test class and adds a ``validate()`` that reads
the tables back from the real database and compares them with what the
``.singer`` input and the sequencing contract leave: per key the version with
the greatest ``_sdc_sequence`` (no input record carries one, so the target's
increasing clock orders versions by arrival and the last one wins), every
record of a keyless stream.

``get_target_test_class`` fixes the config when the module is imported, before
the ``pg_url`` session fixture has started the server, so the SDK's classes are
run here through :class:`~singer_sdk.testing.runners.TargetTestRunner` inside
ordinary test functions, once per dialect: ``db`` (tests/conftest.py) gives
each run a destination of its own, a fresh DuckDB file or a fresh PostgreSQL
schema, passed to the SDK template as its ``resource``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import importlib.resources
import io
import json
import re
import typing as t

import psycopg
import pytest
from singer_sdk.exceptions import MissingKeyPropertiesError, RecordsWithoutSchemaException
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.testing import target_test_streams
from singer_sdk.testing.config import SuiteConfig
from singer_sdk.testing.runners import TargetTestRunner
from singer_sdk.testing.suites import target_tests
from singer_sdk.testing.target_tests import (
    TargetArrayData,
    TargetCamelcaseComplexSchema,
    TargetCamelcaseTest,
    TargetCliPrintsTest,
    TargetDuplicateRecords,
    TargetEncodedStringData,
    TargetInvalidSchemaTest,
    TargetMultipleStateMessages,
    TargetNoPrimaryKeys,
    TargetOptionalAttributes,
    TargetPrimaryKeyUpdates,
    TargetRecordBeforeSchemaTest,
    TargetRecordMissingKeyProperty,
    TargetRecordMissingOptionalFields,
    TargetRecordMissingRequiredProperty,
    TargetSchemaNoProperties,
    TargetSchemaUpdates,
    TargetSpecialCharsInAttributes,
)
from singer_sdk.testing.templates import TargetTestTemplate

from target_sequenced.core.errors import DestinationError, InputError
from target_sequenced.singer.target import TargetSequenced

if t.TYPE_CHECKING:
    from tests.helpers import Db

SEQUENCE = "_sdc_sequence"
SYSTEM_COLUMNS = {
    SEQUENCE,
    "_sdc_received_at",
    "_sdc_batched_at",
    "_sdc_extracted_at",
    "_sdc_table_version",
    "_sdc_deleted_at",
}
# information_schema.columns.data_type (lower case) on either dialect -> JSON Schema kind
KIND_OF_TYPE = {
    "bigint": "integer",
    "numeric": "number",
    "decimal": "number",
    "double": "number",
    "double precision": "number",
    "varchar": "string",
    "text": "string",
    "boolean": "boolean",
    "timestamp with time zone": "date-time",
    "json": "json",
    "jsonb": "json",
}
NUL = "\x00"


# -- the input ------------------------------------------------------------------


def singer_text(name: str) -> str:
    """The SDK's input file ``target_test_streams/<name>.singer``."""
    path = importlib.resources.files(target_test_streams) / f"{name}.singer"
    return path.read_text(encoding="utf-8")


def parse(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def expected_rows(
    messages: list[dict],
    stream: str,
    names: t.Mapping[str, str] | None = None,
) -> list[dict]:
    """The rows the contract leaves for ``stream``, in ``_sdc_sequence`` order.

    Per key (the top-level ``key_properties`` of the stream's latest SCHEMA) the
    last version that arrived; every record when there is no key. Columns are
    every property any SCHEMA declared (``names`` maps a property to its column
    where the name changes); a missing property is NULL.
    """
    names = names or {}
    key: list[str] = []
    properties: list[str] = []
    winners: dict[tuple, dict] = {}
    for index, message in enumerate(messages):
        if message.get("stream") != stream:
            continue
        if message["type"] == "SCHEMA":
            key = message.get("key_properties") or []
            properties += [p for p in message["schema"]["properties"] if p not in properties]
        elif message["type"] == "RECORD":
            record = message["record"]
            ident = tuple(record[k] for k in key) if key else (index,)
            winners.pop(ident, None)  # re-inserted: the winner's arrival orders the rows
            winners[ident] = record
    return [{names.get(p, p): record.get(p) for p in properties} for record in winners.values()]


def holds_nul(value: object) -> bool:
    """Whether a JSON value holds U+0000 in any string, key or nested value."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


def input_states(messages: list[dict]) -> list[t.Any]:
    return [message["value"] for message in messages if message["type"] == "STATE"]


# -- the destination ------------------------------------------------------------


def user_columns(db: Db, table: str) -> dict[str, str]:
    """Column -> kind of a table's columns other than the system ones."""
    return {
        name: KIND_OF_TYPE.get(re.sub(r"\(.*\)", "", data_type), data_type)
        for name, data_type in db.column_types(table).items()
        if name not in SYSTEM_COLUMNS
    }


def table_rows(db: Db, table: str) -> list[dict]:
    """A table's rows, user columns only, in ``_sdc_sequence`` order; JSON decoded."""
    json_columns = {name for name, kind in user_columns(db, table).items() if kind == "json"}
    return [
        {
            name: json.loads(value) if name in json_columns and isinstance(value, str) else value
            for name, value in row.items()
            if name not in SYSTEM_COLUMNS
        }
        for row in db.rows(table, order_by=f'"{SEQUENCE}"')
    ]


def system_values(db: Db, table: str) -> list[dict]:
    return db.rows(table, order_by=f'"{SEQUENCE}"', columns=", ".join(sorted(SYSTEM_COLUMNS)))


# -- running the SDK's templates ----------------------------------------------------


class Runner(TargetTestRunner):
    """The SDK's runner, keeping the targets it creates and the error a sync raised."""

    def __init__(self, config: dict) -> None:
        super().__init__(TargetSequenced, config=config)
        self.targets: list[TargetSequenced] = []
        self.error: Exception | None = None

    def new_target(self) -> TargetSequenced:
        target = t.cast("TargetSequenced", super().new_target())
        self.targets.append(target)
        return target

    def sync_all(self, *, finalize: bool = True, **kwargs: t.Any) -> None:
        try:
            super().sync_all(finalize=finalize, **kwargs)
        except Exception as exc:
            self.error = exc
            raise

    def close(self) -> None:
        # A failed sync never reaches process_endofpipe, which disposes the engine.
        for target in self.targets:
            target.core.close()
        if self._input is not None:
            self._input.close()


class Checks(TargetTestTemplate):
    """What every checked test can use: its database, its input and the read-back."""

    variant = ""
    """Set on the variants below, which run an SDK test differently."""

    @property
    def db(self) -> Db:
        """The test's own destination, handed to the SDK template as its resource."""
        return t.cast("Db", self.resource)

    @property
    def recorder(self) -> Runner:
        return t.cast("Runner", self.runner)

    @property
    def messages(self) -> list[dict]:
        assert self.name is not None
        return parse(singer_text(self.name))

    def assert_tables(self, *tables: str) -> None:
        """Exactly these tables exist: nothing of another test, no stray stage."""
        assert self.db.tables() == set(tables)

    def assert_loaded(
        self,
        stream: str,
        table: str,
        names: t.Mapping[str, str] | None = None,
    ) -> list[dict]:
        """The table holds what the contract leaves of the stream; return its rows."""
        rows = table_rows(self.db, table)
        assert rows == expected_rows(self.messages, stream, names)
        return rows

    def assert_states(self) -> None:
        """Emitted STATE values are input ones, in input order, ending with the last."""
        emitted = list(self.runner.state_messages)
        remaining = iter(input_states(self.messages))
        assert all(any(state == value for value in remaining) for state in emitted), emitted
        final = input_states(self.messages)[-1:] or [None]
        if final[0]:
            assert emitted[-1:] == final

    def assert_error(self, kind: type[BaseException]) -> BaseException:
        error = self.recorder.error
        assert isinstance(error, kind), repr(error)
        return error


# -- the SDK's tests, each with its read-back --------------------------------------


class CheckedArrayData(Checks, TargetArrayData):
    def validate(self) -> None:
        self.assert_states()
        self.assert_tables("test_array_data")
        assert user_columns(self.db, "test_array_data") == {"id": "integer", "fruits": "json"}
        assert self.db.primary_key("test_array_data") == ["id"]
        rows = self.assert_loaded("test_array_data", "test_array_data")
        assert [row["fruits"] for row in rows] == [
            ["apple", "orange", "pear"],
            ["banana", "apple"],
            ["pear"],
            ["orange", "banana", "apple", "pear"],
        ]


CAMEL_COMPLEX_COLUMNS = {
    "Id": ("id", "string"),
    "IsDeleted": ("is_deleted", "boolean"),
    # anyOf [date-time, string]: a string that need not be a date-time
    "CreatedDate": ("created_date", "string"),
    "CreatedById": ("created_by_id", "string"),
    "LastModifiedDate": ("last_modified_date", "string"),
    "LastModifiedById": ("last_modified_by_id", "string"),
    "SystemModstamp": ("system_modstamp", "string"),
    "ForecastingTypeId": ("forecasting_type_id", "string"),
    "ForecastingItemCategory": ("forecasting_item_category", "string"),
    "DisplayPosition": ("display_position", "integer"),
    "IsAdjustable": ("is_adjustable", "boolean"),
    "IsOwnerAdjustable": ("is_owner_adjustable", "boolean"),
    "age": ("age", "integer"),
    "NewCamelCasedAttribute": ("new_camel_cased_attribute", "string"),
    "_attribute_startswith_underscore": ("_attribute_startswith_underscore", "string"),
}


class CheckedCamelcaseComplexSchema(Checks, TargetCamelcaseComplexSchema):
    def validate(self) -> None:
        # Two SCHEMA messages and no record: the second one adds three columns.
        (schema, evolved) = (m["schema"]["properties"] for m in self.messages)
        assert set(evolved) - set(schema) == {
            "age",
            "NewCamelCasedAttribute",
            "_attribute_startswith_underscore",
        }
        assert set(evolved) == set(CAMEL_COMPLEX_COLUMNS)
        table = "forecasting_type_to_category"
        self.assert_tables(table)
        assert user_columns(self.db, table) == dict(CAMEL_COMPLEX_COLUMNS.values())
        assert self.db.primary_key(table) == ["id"]
        assert table_rows(self.db, table) == []


class CheckedCamelcase(Checks, TargetCamelcaseTest):
    def validate(self) -> None:
        self.assert_tables("test_camelcase")
        assert user_columns(self.db, "test_camelcase") == {
            "id": "string",
            "client_name": "string",
        }
        assert self.db.primary_key("test_camelcase") == ["id"]
        rows = self.assert_loaded(
            "TestCamelcase", "test_camelcase", {"Id": "id", "clientName": "client_name"}
        )
        assert rows == [
            {"id": "1", "client_name": "Gitter Windows Desktop App"},
            {"id": "2", "client_name": "Gitter iOS App"},
        ]


class CheckedCliPrints(Checks, TargetCliPrintsTest):
    def test(self) -> None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            super().test()
        self.output = out.getvalue()

    def validate(self) -> None:
        version = importlib.metadata.version("target-sequenced")
        sdk_version = importlib.metadata.version("singer-sdk")
        first_line = self.output.splitlines()[0]
        assert first_line == f"target-sequenced v{version}, Meltano SDK v{sdk_version}"
        assert "Name: target-sequenced" in self.output
        about, _ = json.JSONDecoder().raw_decode(self.output[self.output.index("\n{") + 1 :])
        assert (about["name"], about["version"]) == ("target-sequenced", version)
        assert {"activate-version", "batch", "hard-delete"} <= set(about["capabilities"])
        settings = about["settings"]["properties"]
        assert {"sqlalchemy_url", "default_target_schema", "load_method"} <= set(settings)
        # System columns are part of the contract: the SDK's switch is not offered.
        assert "add_record_metadata" not in settings


class CheckedDuplicateRecords(Checks, TargetDuplicateRecords):
    def validate(self) -> None:
        self.assert_states()
        self.assert_tables("test_duplicate_records")
        assert self.db.primary_key("test_duplicate_records") == ["id"]
        rows = self.assert_loaded("test_duplicate_records", "test_duplicate_records")
        # id 2's last version (line 5) arrived before id 1's (line 6).
        assert rows == [{"id": 2, "metric": 20}, {"id": 1, "metric": 100}]


ENCODED_STREAMS = {
    "test_strings": {"id": "integer", "info": "string"},
    "test_strings_in_objects": {"id": "integer", "info": "json"},
    "test_strings_in_arrays": {"id": "integer", "strings": "json"},
}


class CheckedEncodedStringData(Checks, TargetEncodedStringData):
    def validate(self) -> None:
        self.assert_states()
        self.assert_tables(*ENCODED_STREAMS)
        for table, columns in ENCODED_STREAMS.items():
            assert user_columns(self.db, table) == columns
            self.assert_loaded(table, table)  # every string exactly as sent
        sent = {
            m["record"]["id"]: m["record"]["info"]
            for m in self.messages
            if m["type"] == "RECORD" and m["stream"] == "test_strings"
        }
        stored = {row["id"]: row["info"] for row in table_rows(self.db, "test_strings")}
        assert stored == sent
        # In JSON, "\\u0000" is a backslash then "u0000"; "\u0000" is the character U+0000.
        assert stored[10] == "Double quoting: \\u0000 \\u0041 \\u0001"
        assert stored[6] == 'various " \\ / \n escape sequences'
        if 11 in sent:  # the control characters line: NUL, "A" (\u0041), SOH
            assert sent[11] == "Control Characters in string: \x00 A \x01"
            assert stored[11] == sent[11]


class CheckedInvalidSchema(Checks, TargetInvalidSchemaTest):
    def validate(self) -> None:
        # The SCHEMA message has no "properties": the SDK's reader refuses it.
        error = self.assert_error(InvalidInputLine)
        assert "properties" in str(error)
        self.assert_tables()


MULTIPLE_STATES_TABLES = ("test_multiple_state_messages_a", "test_multiple_state_messages_b")


class CheckedMultipleStateMessages(Checks, TargetMultipleStateMessages):
    def validate(self) -> None:
        self.assert_states()
        self.assert_tables(*MULTIPLE_STATES_TABLES)
        for table in MULTIPLE_STATES_TABLES:
            self.assert_loaded(table, table)


class CheckedNoPrimaryKeys(Checks, TargetNoPrimaryKeys):
    def validate(self) -> None:
        self.assert_states()
        self.assert_tables("test_no_pk")
        assert self.db.primary_key("test_no_pk") == []
        rows = self.assert_loaded("test_no_pk", "test_no_pk")
        assert len(rows) == 3


class CheckedOptionalAttributes(Checks, TargetOptionalAttributes):
    def validate(self) -> None:
        self.assert_states()
        self.assert_tables("test_optional_attributes")
        rows = self.assert_loaded("test_optional_attributes", "test_optional_attributes")
        assert [row["optional"] for row in rows] == [
            "This is optional",
            None,
            "Also optional",
            None,
        ]


class CheckedPrimaryKeyUpdates(Checks, TargetPrimaryKeyUpdates):
    def validate(self) -> None:
        # "key_properties" sits inside "schema" here, not in the message: the
        # stream declares no key, so both records are kept and no key is built.
        assert all("key_properties" not in m for m in self.messages if m["type"] == "SCHEMA")
        self.assert_tables("example_stream")
        assert self.db.primary_key("example_stream") == []
        rows = self.assert_loaded("example_stream", "example_stream")
        assert [row["name"] for row in rows] == ["Alice", "Bob"]


class CheckedRecordBeforeSchema(Checks, TargetRecordBeforeSchemaTest):
    def validate(self) -> None:
        self.assert_error(RecordsWithoutSchemaException)
        self.assert_tables()  # the first line fails: nothing is created


class CheckedRecordMissingKeyProperty(Checks, TargetRecordMissingKeyProperty):
    def validate(self) -> None:
        self.assert_error(MissingKeyPropertiesError)
        self.assert_tables("test_record_missing_key_property")
        assert table_rows(self.db, "test_record_missing_key_property") == []


class CheckedRecordMissingOptionalFields(Checks, TargetRecordMissingOptionalFields):
    def validate(self) -> None:
        self.assert_states()
        self.assert_tables("record_missing_fields")
        rows = self.assert_loaded("record_missing_fields", "record_missing_fields")
        assert rows == [{"id": 1, "optional": "now you see me"}, {"id": 2, "optional": None}]


class CheckedRecordMissingRequiredProperty(Checks, TargetRecordMissingRequiredProperty):
    def test(self) -> None:
        # The SDK's test only runs the file; a record that breaks its schema
        # must stop the run with our located InputError.
        with pytest.raises(InputError):
            super().test()

    def validate(self) -> None:
        message = str(self.assert_error(InputError))
        assert "stream 'test_record_missing_required_property'" in message
        assert "input line 2" in message
        assert "'id' is a required property" in message
        self.assert_tables("test_record_missing_required_property")
        assert table_rows(self.db, "test_record_missing_required_property") == []


class CheckedSchemaNoProperties(Checks, TargetSchemaNoProperties):
    def validate(self) -> None:
        tables = ("test_object_schema_with_properties", "test_object_schema_no_properties")
        self.assert_tables(*tables)
        for table in tables:
            assert user_columns(self.db, table) == {"object_store": "json"}
            assert self.db.primary_key(table) == []
            assert len(self.assert_loaded(table, table)) == 2


class CheckedSchemaUpdates(Checks, TargetSchemaUpdates):
    def validate(self) -> None:
        self.assert_states()
        self.assert_tables("test_schema_updates")
        assert user_columns(self.db, "test_schema_updates") == {
            "id": "integer",
            "a1": "number",
            "a2": "string",
            "a3": "boolean",
            "a4": "json",
            "a5": "json",
            "a6": "integer",
        }
        rows = self.assert_loaded("test_schema_updates", "test_schema_updates")
        assert [row["id"] for row in rows] == [1, 2, 3, 4, 5, 6]
        # Columns added later are NULL in the rows loaded before them.
        assert [row["a3"] for row in rows] == [None, True, False, True, False, True]
        assert [row["a6"] for row in rows] == [None, None, None, None, 985, 341]
        assert rows[3]["a4"] == {"id": 2, "value": 22}
        assert rows[3]["a5"] == ["orange", "pear"]


class CheckedSpecialCharsInAttributes(Checks, TargetSpecialCharsInAttributes):
    def validate(self) -> None:
        table = "test_special_chars_in_attributes"
        self.assert_tables(table)
        assert user_columns(self.db, table) == {"_id": "string", "d": "json"}
        assert self.db.primary_key(table) == ["_id"]
        rows = self.assert_loaded("test:SpecialChars!in?attributes", table)
        assert rows == [
            {
                "_id": "a2e98886",
                "d": {"env": "prod", "agent:type": "desktop", "agent:os:version": "10.13.1"},
            },
        ]
        # The message envelope lands in the system columns.
        (system,) = system_values(self.db, table)
        assert system["_sdc_table_version"] == 1541199424491
        extracted = dt.datetime(2018, 11, 2, 22, 57, 4, 841020, tzinfo=dt.timezone.utc)
        assert system["_sdc_extracted_at"] == extracted


CHECKED: list[type[TargetTestTemplate]] = [
    CheckedArrayData,
    CheckedCamelcaseComplexSchema,
    CheckedCamelcase,
    CheckedCliPrints,
    CheckedDuplicateRecords,
    CheckedEncodedStringData,
    CheckedInvalidSchema,
    CheckedMultipleStateMessages,
    CheckedNoPrimaryKeys,
    CheckedOptionalAttributes,
    CheckedPrimaryKeyUpdates,
    CheckedRecordBeforeSchema,
    CheckedRecordMissingKeyProperty,
    CheckedRecordMissingOptionalFields,
    CheckedRecordMissingRequiredProperty,
    CheckedSchemaNoProperties,
    CheckedSchemaUpdates,
    CheckedSpecialCharsInAttributes,
]

# -- variants: what the SDK's tests cannot say as they stand --------------------------


class EncodedStringDataWithoutNul(CheckedEncodedStringData):
    """The same file less the records that hold U+0000, which PostgreSQL cannot store."""

    variant = "without_nul"

    @property
    def messages(self) -> list[dict]:
        return [m for m in super().messages if not holds_nul(m)]

    def setup(self) -> None:
        dropped = len(super().messages) - len(self.messages)
        assert dropped == 3  # one record in each of the three streams
        text = "".join(json.dumps(m) + "\n" for m in self.messages)
        self.runner.input_io = io.StringIO(text)


class EncodedStringDataNulError(Checks, TargetEncodedStringData):
    """Where U+0000 cannot be stored, the run fails with the target's own error."""

    variant = "nul_error"

    def test(self) -> None:
        with pytest.raises(Exception):  # noqa: PT011, B017 - validate() inspects it
            super().test()

    def validate(self) -> None:
        # Contract 7: the run stops at the record holding U+0000, after everything
        # before its line is committed; nothing of it or after it is written.
        error = self.recorder.error
        assert isinstance(error, InputError), repr(error)
        assert "stream 'test_strings'" in str(error)
        assert "PostgreSQL cannot store the character U+0000" in str(error)
        first_nul = next(i for i, m in enumerate(self.messages) if holds_nul(m))
        assert f"input line {first_nul + 1}," in str(error)
        before = self.messages[:first_nul]
        self.assert_tables(*{m["stream"] for m in before if m["type"] == "SCHEMA"})
        sent = [m["record"]["id"] for m in before if m["type"] == "RECORD"]
        assert [row["id"] for row in table_rows(self.db, "test_strings")] == sent


class MultipleStateMessagesRelayed(CheckedMultipleStateMessages):
    """Multiple STATE messages: what is relayed, and the tables, without the SDK's assert."""

    variant = "relayed"

    def test(self) -> None:
        self.runner.sync_all()

    def validate(self) -> None:
        super().validate()
        # Contract 7: after each commit, the newest STATE it made safe. Every
        # relayed STATE is one the tap sent, in its order, and the last is the
        # tap's last.
        relayed, sent = self.runner.state_messages, input_states(self.messages)
        assert relayed[-1] == sent[-1]
        positions = [sent.index(state) for state in relayed]
        assert positions == sorted(set(positions))


class RecordMissingKeyPropertyLocated(CheckedRecordMissingKeyProperty):
    """README, Errors: 'A null or missing key is `Record is missing key property id`'."""

    variant = "located"

    def validate(self) -> None:
        super().validate()
        error = self.assert_error(InputError)
        assert "stream 'test_record_missing_key_property', input line 2" in str(error)
        assert "Record is missing key property id" in str(error)


# -- the tests ------------------------------------------------------------------------

DIALECTS = ("duckdb", "postgresql")

SDK_HARNESS_STATES = (
    "SDK harness: TargetMultipleStateMessages compares runner.state_messages, which the "
    "runner has parsed into dicts, with JSON strings, so it fails for every target; it "
    "also expects STATE after lines 4, 10 and 18, while a STATE passes only after the "
    "commit that covers it, one per batch_size_rows records (here, the end of input). "
    "The SDK leaves it out of its own suite ('TODO: fix behavior in SDK')"
)
POSTGRES_NUL = (
    "PostgreSQL cannot store U+0000: text refuses the NUL byte and jsonb the \\u0000 "
    "escape, so the run fails on the records that hold it (test_strings 11, "
    "test_strings_in_objects 11, test_strings_in_arrays 6); the variant without_nul checks "
    "the rest"
)


def xfail(
    reason: str,
    raises: type[BaseException] | tuple[type[BaseException], ...],
) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, raises=raises, reason=reason)


def sdk_params() -> list[t.Any]:
    marks: dict[tuple[str, str | None], pytest.MarkDecorator] = {
        # Whichever error reports it (psycopg's today; see the nul_error variant).
        ("postgresql", "encoded_string_data"): xfail(
            POSTGRES_NUL, (psycopg.DataError, DestinationError, InputError)
        ),
        ("duckdb", "multiple_state_messages"): xfail(SDK_HARNESS_STATES, AssertionError),
        ("postgresql", "multiple_state_messages"): xfail(SDK_HARNESS_STATES, AssertionError),
    }
    return [
        pytest.param(
            dialect, case, id=f"{dialect}-{case.name}", marks=marks.get((dialect, case.name), ())
        )
        for dialect in DIALECTS
        for case in CHECKED
    ]


def variant_params() -> list[t.Any]:
    cases: list[tuple[type[Checks], tuple[str, ...], t.Any]] = [
        (EncodedStringDataWithoutNul, DIALECTS, ()),
        (EncodedStringDataNulError, ("postgresql",), ()),
        (MultipleStateMessagesRelayed, DIALECTS, ()),
        (RecordMissingKeyPropertyLocated, DIALECTS, ()),
    ]
    return [
        pytest.param(
            dialect,
            case,
            id=f"{dialect}-{case.name}-{case.variant}",
            marks=marks,
        )
        for case, dialects, marks in cases
        for dialect in dialects
    ]


def run_checked(case: type[TargetTestTemplate], db: Db) -> None:
    """Run one SDK test (setup, test, validate) against the test's own destination."""
    runner = Runner(db.config())
    try:
        case().run(SuiteConfig(), db, runner)
    finally:
        runner.close()


# ``dialect`` overrides conftest's parametrised fixture, which ``db`` depends on.
@pytest.mark.parametrize(("dialect", "case"), sdk_params())
def test_sdk_standard(dialect: str, case: type[TargetTestTemplate], db: Db) -> None:
    assert db.dialect == dialect
    run_checked(case, db)


@pytest.mark.parametrize(("dialect", "case"), variant_params())
def test_sdk_standard_variant(dialect: str, case: type[TargetTestTemplate], db: Db) -> None:
    assert db.dialect == dialect
    run_checked(case, db)


def test_every_sdk_target_test_is_checked() -> None:
    """An SDK upgrade that adds a target test fails here until it is checked too."""
    wanted = {*target_tests.tests, TargetMultipleStateMessages, TargetRecordMissingRequiredProperty}
    checked = {base for case in CHECKED for base in case.__mro__ if base in wanted}
    assert checked == wanted
    assert len(CHECKED) == len(wanted)
    assert len({case.name for case in CHECKED}) == len(CHECKED)
