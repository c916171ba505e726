"""Pure unit tests: names, kinds, sequences, settings. No database."""

from __future__ import annotations

import datetime as dt

import pytest

from target_sequenced import settings
from target_sequenced.columns import Column, Kind, kind_of, row_converter, widen
from target_sequenced.exceptions import InputError
from target_sequenced.names import conform_name, conform_names
from target_sequenced.sequencing import SequenceClock, VersionBuffer, sequence_of
from target_sequenced.stats import StreamStats


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


def test_row_converter_names_the_field_it_cannot_convert() -> None:
    convert = row_converter([Column("n", Kind.INTEGER, "n")])
    assert convert({"n": 5}, "here") == (5,)
    with pytest.raises(
        InputError,
        match=r"here: #/n \(column n\): integer outside the signed 64-bit range: 92233",
    ):
        convert({"n": 2**63}, "here")


def test_row_converter_text_of_other_kinds() -> None:
    convert = row_converter([Column("s", Kind.STRING, "s")])
    assert convert({"s": True}, "") == ("true",)
    assert convert({"s": 12}, "") == ("12",)
    assert convert({"s": {"a": [1]}}, "") == ('{"a":[1]}',)
    assert convert({"s": ""}, "") == ("",)
    assert convert({}, "") == (None,)


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


def test_sequence_sources_in_order_of_precedence() -> None:
    clock = SequenceClock(now_ns=lambda: 99)
    assert (
        sequence_of({"_sdc_sequence": 5, "v": 7}, sequence_property="v", clock=clock, where="") == 5
    )
    assert sequence_of({"v": 7}, sequence_property="v", clock=clock, where="") == 7
    stamp = "2024-01-01T00:00:01.5+00:00"
    assert (
        sequence_of({"v": stamp}, sequence_property="v", clock=clock, where="")
        == 1_704_067_201_500_000
    )
    parsed = dt.datetime(2024, 1, 1, 0, 0, 1, 500_000, tzinfo=dt.timezone.utc)
    assert (
        sequence_of({"v": parsed}, sequence_property="v", clock=clock, where="")
        == 1_704_067_201_500_000
    )
    assert sequence_of({"_sdc_sequence": True}, sequence_property=None, clock=clock, where="") == 99
    assert sequence_of({}, sequence_property=None, clock=clock, where="") == 100


@pytest.mark.parametrize("value", [None, "yesterday", 1.5, True])
def test_sequence_property_of_another_type_is_invalid(value: object) -> None:
    with pytest.raises(InputError, match=r"rec 3: #/v: the sequence_property must hold"):
        sequence_of({"v": value}, sequence_property="v", clock=SequenceClock(), where="rec 3")


def test_sequence_outside_int64_is_an_error() -> None:
    with pytest.raises(InputError, match="outside the signed 64-bit range"):
        sequence_of(
            {"_sdc_sequence": -(2**63) - 1}, sequence_property=None, clock=SequenceClock(), where=""
        )


def test_buffer_keeps_greatest_sequence_then_latest_arrival() -> None:
    stats = StreamStats()
    buf = VersionBuffer(keyed=True, stats=stats)
    for key, seq, row in [
        ((1,), 5, "a"),
        ((1,), 3, "b"),
        ((1,), 5, "c"),
        ((2,), 1, "d"),
        ((1,), 4, "e"),
    ]:
        buf.add(key, seq, (row,))
    assert sorted(buf.take()) == [("c",), ("d",)]
    assert (stats.updated, stats.stale) == (1, 2)
    assert len(buf) == 0


def test_buffer_without_key_keeps_every_version() -> None:
    buf = VersionBuffer(keyed=False, stats=StreamStats())
    for seq, row in [(5, "a"), (3, "b"), (5, "c")]:
        buf.add((), seq, (row,))
    assert buf.take() == [("a",), ("b",), ("c",)]


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
