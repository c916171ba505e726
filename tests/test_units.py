"""Unit tests: names, kinds, sequences, conversions, settings; the core's parse step alone."""

from __future__ import annotations

import pytest

from target_sequenced.core.errors import InputError
from target_sequenced.core.kinds import Kind, kind_of, widen
from target_sequenced.core.names import conform_name, conform_names
from target_sequenced.core.sequences import SequenceClock
from target_sequenced.singer import settings
from tests.core_harness import CLOCK, parse


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("id", "id"),
        ("clientName", "client_name"),
        ("ForecastingTypeToCategory", "forecasting_type_to_category"),
        ("HTTPServer", "http_server"),
        ("agent:os:version", "agent_os_version"),
        ("test:SpecialChars!in?attributes", "test_special_chars_in_attributes"),
        ("public-users", "public_users"),
        ("_sdc_sequence", "_sdc_sequence"),
        ("2fa", "_2fa"),
        ("", "_"),
        ("ümlaut", "_mlaut"),
        ("select", "select"),
    ],
)
def test_conform_name(name: str, expected: str) -> None:
    assert conform_name(name) == expected


def test_long_names_are_cut_with_a_hash_and_stay_distinct() -> None:
    a, b = "x" * 70 + "a", "x" * 70 + "b"
    assert len(conform_name(a)) == 63
    assert conform_name(a) != conform_name(b)
    assert conform_name(a) == conform_name(a)


def test_colliding_names_are_an_error() -> None:
    with pytest.raises(InputError, match="'fooBar' and 'foo_bar' both map to column 'foo_bar'"):
        conform_names("s", ["fooBar", "foo_bar"])


@pytest.mark.parametrize(
    ("schema", "kind"),
    [
        ({"type": "integer"}, Kind.INTEGER),
        ({"type": ["null", "number"]}, Kind.NUMBER),
        ({"type": ["integer", "number"]}, Kind.NUMBER),
        ({"type": "boolean"}, Kind.BOOLEAN),
        ({"type": "string"}, Kind.STRING),
        ({"type": "string", "format": "date-time"}, Kind.TIMESTAMP),
        ({"type": "string", "format": "date"}, Kind.DATE),
        ({"type": "object"}, Kind.JSON),
        ({"type": "array", "items": {"type": "string"}}, Kind.JSON),
        ({}, Kind.JSON),
        ({"type": ["string", "integer"]}, Kind.STRING),
        (
            {"anyOf": [{"type": "string", "format": "date-time"}, {"type": ["string", "null"]}]},
            Kind.STRING,
        ),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, Kind.INTEGER),
    ],
)
def test_kind_of(schema: dict, kind: Kind) -> None:
    assert kind_of(schema) is kind


def test_widen_only_ever_widens() -> None:
    assert widen(Kind.INTEGER, Kind.NUMBER) is Kind.NUMBER
    assert widen(Kind.NUMBER, Kind.INTEGER) is Kind.NUMBER
    assert widen(Kind.NUMBER, Kind.STRING) is Kind.STRING
    assert widen(Kind.JSON, Kind.BOOLEAN) is Kind.STRING
    for kind in Kind:
        assert widen(kind, kind) is kind
        assert widen(kind, Kind.STRING) is Kind.STRING


INT = {"properties": {"id": {"type": "integer"}, "n": {"type": ["null", "integer"]}}}


def test_an_integer_outside_64_bits_is_refused_naming_the_field() -> None:
    parsed = parse(INT, [{"id": 1, "n": 5}, {"id": 2, "n": 2**63}])
    assert [r["n"] for r in parsed.rows] == [5]
    assert parsed.refused == [
        (
            "stream 's', input line 3, record 1: #/n: integer outside the signed 64-bit range, "
            "found 9223372036854775808"
        )
    ]


def test_text_of_other_kinds_in_a_text_column() -> None:
    schema = {"properties": {"id": {"type": "integer"}, "s": {}}}
    records = [{"id": 1, "s": True}, {"id": 2, "s": 12}, {"id": 3, "s": {"a": [1]}}]
    records += [{"id": 4, "s": ""}, {"id": 5}]
    text = {
        "properties": {
            "id": {"type": "integer"},
            "s": {"type": ["string", "integer", "boolean", "object", "null"]},
        }
    }
    assert [r["s"] for r in parse(text, records).rows] == ["true", "12", '{"a":[1]}', "", None]
    assert [r["s"] for r in parse(schema, records).rows] == ["true", "12", '{"a":[1]}', '""', None]


def test_sequence_sources_in_order_of_precedence() -> None:
    schema = {"properties": {"id": {"type": "integer"}, "v": {}}}
    stamp = "2024-01-01T00:00:01.5+00:00"
    records = [{"id": 1, "_sdc_sequence": 5, "v": 7}, {"id": 2, "v": 7}, {"id": 3, "v": stamp}]
    parsed = parse(schema, records, sequence_property="v")
    assert [r["_sdc_sequence"] for r in parsed.rows] == [5, 7, 1_704_067_201_500_000]
    generated = parse(schema, [{"id": 1}, {"id": 2, "_sdc_sequence": None}])
    assert [r["_sdc_sequence"] for r in generated.rows] == [CLOCK, CLOCK + 1]


@pytest.mark.parametrize("value", ["5000", 5000.5, 5000.0, True])
def test_a_sequence_that_is_no_integer_makes_the_record_invalid(value: object) -> None:
    """Contract 2.2: never replaced by a generated one, which would win forever (issue 11.1)."""
    parsed = parse(INT, [{"id": 1, "_sdc_sequence": value}])
    assert parsed.rows == []
    (message,) = parsed.refused
    assert message.startswith(
        "stream 's', input line 2, record 0: #/_sdc_sequence: must be an integer"
    )


@pytest.mark.parametrize("value", [None, "yesterday", 1.5, True])
def test_sequence_property_of_another_type_is_invalid(value: object) -> None:
    schema = {"properties": {"id": {"type": "integer"}, "v": {}}}
    parsed = parse(schema, [{"id": 1, "v": value}, {"id": 2}], sequence_property="v")
    assert len(parsed.refused) == 2
    assert all("#/v: the sequence_property must hold" in m for m in parsed.refused)


def test_sequence_outside_int64_is_an_error() -> None:
    (message,) = parse(INT, [{"id": 1, "_sdc_sequence": -(2**63) - 1}]).refused
    assert "outside the signed 64-bit range" in message


def test_buffer_keeps_greatest_sequence_then_latest_arrival() -> None:
    schema = {"properties": {"id": {"type": "integer"}, "r": {"type": "string"}}}
    versions = [(1, 5, "a"), (1, 3, "b"), (1, 5, "c"), (2, 1, "d"), (1, 4, "e")]
    records = [{"id": k, "_sdc_sequence": q, "r": r} for k, q, r in versions]
    parsed = parse(schema, records)
    assert sorted(w["r"] for w in parsed.winners) == ["c", "d"]
    assert parsed.stats.stale == 2  # b and e: older than a version before them
    # a was the newest when it came: the load compares it with the stored row
    assert parsed.candidates == [{"id": 1, "_sdc_sequence": 5}]


def test_buffer_without_key_keeps_every_version() -> None:
    schema = {"properties": {"r": {"type": "string"}}}
    records = [{"_sdc_sequence": q, "r": r} for q, r in [(5, "a"), (3, "b"), (5, "c")]]
    assert [w["r"] for w in parse(schema, records, key=()).winners] == ["a", "b", "c"]


def test_clock_never_ties_even_when_frozen() -> None:
    clock = SequenceClock(now_ns=lambda: 1_000)
    values = [clock.next() for _ in range(5)]
    assert values == [1_000, 1_001, 1_002, 1_003, 1_004]


def test_clock_is_unique_over_many_calls_and_above_a_previous_run() -> None:
    previous_run_max = SequenceClock().next()
    clock = SequenceClock()
    values = [clock.next() for _ in range(100_000)]
    assert len(set(values)) == len(values)
    assert values == sorted(values)
    assert values[0] > previous_run_max


def test_settings_check_lists_every_problem() -> None:
    problems = settings.check(
        {
            "sqlalchemy_url": "mysql://x/y",
            "batch_size_rows": 0,
            "load_method": "merge",
            "sequence_property": "",
        },
    )
    assert len(problems) == 4
    assert problems[0].startswith("sqlalchemy_url: dialect 'mysql' is not supported")
    assert settings.check({}) == []
