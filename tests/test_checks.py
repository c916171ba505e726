"""The bulk checks against jsonschema: the same records accepted, the same refused, the same words.

Hypothesis draws schemas from every construct the compiler takes (``anyOf`` /
``oneOf`` of types, type lists in any order, ``enum``, ``const``,
``multipleOf``, bounds in the Draft 4 (boolean) and Draft 6+ (number) forms,
lengths, ``pattern``, formats, ``required``, ``additionalProperties`` as a
boolean or a schema, nested objects and arrays, local ``$ref``), and records
that meet or break them. Each record goes through the stream's parse query
(``tests/core_harness.py``: a real workspace, as a load takes it), and the
verdict must be jsonschema's, with the schema's draft, on the record parsed
the way the SDK parses it (numbers with a fraction or exponent as Decimal):

- jsonschema refuses: the core refuses too, and its message names the same
  field paths with jsonschema's words;
- jsonschema accepts: the core accepts, unless a loading rule refuses the
  record, which its message must then name (a date-time column that cannot
  hold the string, an integer beyond 64 bits): never "does not conform".
"""

from __future__ import annotations

import decimal
import json
import typing as t

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_sequenced.core.checks import Rules
from target_sequenced.core.plan import build_plan
from target_sequenced.core.query import compile_query
from tests.core_harness import parse

DRAFTS = {
    "http://json-schema.org/draft-04/schema#": jsonschema.Draft4Validator,
    "http://json-schema.org/draft-07/schema#": jsonschema.Draft7Validator,
}
NOT_SCHEMA = "record does not conform to schema"
PATTERNS = ["^[a-z]+$", "^item ", "[0-9]{2}", "^(red|blue)$", "\\d"]
WORDS = ["", "a", "red", "blue", "item 7", "x1", "12", "Zed", "naïve", "🎉🎉", "a\u0000b"]
DATE_TIMES = ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123+01:00", "2024-01-02", "nope"]


def number_literals() -> st.SearchStrategy[str]:
    """JSON number texts: integers, decimals, the edges of the checks."""
    return st.one_of(
        st.integers(-(10**6), 10**6).map(str),
        st.sampled_from(["0", "-0", "1.0", "0.5", "2.25", "0.01", "1e2", "-3.75", "100", "7"]),
        st.sampled_from(
            [
                "9223372036854775807",
                "-9223372036854775809",
                "18446744073709551616",
                "0.1234567890123456789",
                "1.5e300",
                "2.000000000000000000001",
                "12345678901234.123456",
            ]
        ),
        st.decimals(min_value=-1000, max_value=1000, places=2).map(str),
    )


def bounds(draft4: bool) -> st.SearchStrategy[dict]:
    """minimum / maximum with exclusive forms of the draft, on small numbers."""
    limit = st.sampled_from([decimal.Decimal(x) for x in ("0", "1", "5", "2.5", "-3", "100")])
    if draft4:
        # Draft 4's exclusive forms are flags on a bound that must be there.
        def side(bound: str, flag: str) -> st.SearchStrategy[dict]:
            return st.one_of(
                st.just({}),
                st.builds(
                    lambda v, f: {bound: v, **f},
                    limit,
                    st.sampled_from([{}, {flag: True}, {flag: False}]),
                ),
            )

        return st.builds(
            lambda low, high: {**low, **high},
            side("minimum", "exclusiveMinimum"),
            side("maximum", "exclusiveMaximum"),
        )
    return st.fixed_dictionaries(
        {},
        optional={
            "minimum": limit,
            "maximum": limit,
            "exclusiveMinimum": limit,
            "exclusiveMaximum": limit,
        },
    )


def nullable(types: list[str]) -> st.SearchStrategy[t.Any]:
    """A type name, or a list of it with "null" in either order."""
    return st.one_of(
        st.just(types[0] if len(types) == 1 else types),
        st.permutations([*types, "null"]).map(list),
    )


def leaf(draft4: bool) -> st.SearchStrategy[dict]:
    numeric = st.builds(
        lambda kind, extra, multiple: {"type": kind, **extra, **multiple},
        nullable(["integer"]) | nullable(["number"]),
        bounds(draft4),
        st.one_of(
            st.just({}),
            st.sampled_from(["0.01", "0.5", "2", "3"]).map(
                lambda m: {"multipleOf": decimal.Decimal(m)}
            ),
        ),
    )
    text = st.builds(
        lambda kind, extra: {"type": kind, **extra},
        nullable(["string"]),
        st.fixed_dictionaries(
            {},
            optional={
                "minLength": st.integers(0, 3),
                "maxLength": st.integers(0, 6),
                "pattern": st.sampled_from(PATTERNS),
                "format": st.sampled_from(["date-time", "date", "time", "email"]),
            },
        ),
    )
    choice = st.one_of(
        st.lists(st.sampled_from(["red", "blue", 1, 2.5, None, True]), min_size=1, max_size=4)
        .map(lambda xs: list(dict.fromkeys(map(json.dumps, xs))))
        .map(lambda xs: {"enum": [json.loads(x, parse_float=decimal.Decimal) for x in xs]}),
        st.sampled_from(["red", 3, True]).map(lambda c: {"const": c}),
    )
    any_of = st.lists(
        st.sampled_from(
            [
                {"type": "string", "format": "date-time"},
                {"type": "null"},
                {"type": "integer"},
                {"type": "string", "maxLength": 3},
                {"type": "number", "minimum": 0},
                {"type": "boolean"},
            ]
        ),
        min_size=1,
        max_size=3,
        unique_by=json.dumps,
    ).flatmap(lambda bs: st.sampled_from([{"anyOf": bs}, {"oneOf": bs}]))
    plain = st.sampled_from([{"type": "boolean"}, {"type": ["boolean", "null"]}, {}])
    return st.one_of(numeric, text, choice, any_of, plain)


def schema_of(draft4: bool, depth: int) -> st.SearchStrategy[dict]:
    if depth == 0:
        return leaf(draft4)
    inner = schema_of(draft4, depth - 1)
    obj = st.builds(
        lambda props, required, extra, kind: {
            "type": kind,
            "properties": props,
            **({"required": required} if required else {}),
            **extra,
        },
        st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, min_size=1, max_size=3),
        st.lists(st.sampled_from(["a", "b"]), max_size=2, unique=True),
        st.one_of(
            st.just({}),
            st.booleans().map(lambda b: {"additionalProperties": b}),
            leaf(draft4).map(lambda s: {"additionalProperties": s}),
        ),
        st.sampled_from(["object", ["object", "null"], ["null", "object"]]),
    )
    arr = st.builds(
        lambda items, kind: {"type": kind, "items": items},
        inner,
        st.sampled_from(["array", ["array", "null"]]),
    )
    return st.one_of(leaf(draft4), obj, arr)


@st.composite
def stream_schemas(draw: st.DrawFn) -> dict:
    """A stream's schema: ``id``, up to three properties, maybe a $ref, a draft named."""
    draft4 = draw(st.booleans())
    props = draw(
        st.dictionaries(st.sampled_from(["p", "q", "r"]), schema_of(draft4, 2), min_size=1)
    )
    schema: dict[str, t.Any] = {
        "$schema": next(iter(DRAFTS)) if draft4 else list(DRAFTS)[1],
        "properties": {"id": {"type": "integer"}, **props},
    }
    if draw(st.booleans()):
        schema["definitions"] = {"shared": draw(leaf(draft4))}
        schema["properties"]["s"] = {"$ref": "#/definitions/shared"}
    if draw(st.booleans()):
        schema["required"] = ["id", *draw(st.lists(st.sampled_from(list(props)), max_size=1))]
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    return schema


def json_values(depth: int = 2) -> st.SearchStrategy[str]:
    """JSON texts of values that meet or break the drawn schemas."""
    scalars = st.one_of(
        number_literals(),
        st.sampled_from(["true", "false", "null"]),
        st.sampled_from(WORDS + DATE_TIMES).map(json.dumps),
    )
    if depth == 0:
        return scalars
    inner = json_values(depth - 1)
    objects = st.dictionaries(st.sampled_from(["a", "b", "c", "z"]), inner, max_size=3).map(
        lambda d: "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in d.items()) + "}"
    )
    arrays = st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")
    return st.one_of(scalars, objects, arrays)


@st.composite
def records_for(draw: st.DrawFn, schema: dict) -> list[str]:
    """Record texts: ``id`` always (a key), other properties drawn, sometimes missing or extra."""
    names = [n for n in schema["properties"] if n != "id"] + ["extra"]
    texts = []
    for n in range(draw(st.integers(1, 12))):
        members = {"id": str(n)}
        for name in names:
            if draw(st.integers(0, 3)) and (name != "extra" or draw(st.booleans())):
                members[name] = draw(json_values())
        texts.append("{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in members.items()) + "}")
    return texts


def paths_named(message: str) -> set[str]:
    return {part.split(": ", 1)[0] for part in message.split("; ") if part.startswith("#/")}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_bulk_checks_give_jsonschema_verdicts(data: st.DataObject) -> None:
    schema = data.draw(stream_schemas())
    texts = data.draw(records_for(schema))
    validator = DRAFTS[schema["$schema"]](schema, format_checker=jsonschema.FormatChecker(()))
    lines = ['{"type": "RECORD", "stream": "s", "record": ' + text + "}" for text in texts]
    parsed = parse(schema, lines)
    # The harness puts record n on input line n + 2.
    refused = {int(m.split("input line ")[1].split(",")[0]) - 2: m for m in parsed.refused}
    for index, text in enumerate(texts):
        record = json.loads(text, parse_float=decimal.Decimal)
        # jsonschema's multipleOf divides, and 28 digits cannot divide 1e300 by 3.
        with decimal.localcontext(decimal.Context(prec=1000)):
            errors = sorted(validator.iter_errors(record), key=lambda e: [str(p) for p in e.path])
        said = refused.get(index)
        if errors:
            assert said is not None, (schema, text, [e.message for e in errors])
            assert NOT_SCHEMA in said, (schema, text, said)
            want = {"#/" + "/".join(str(p) for p in e.path) for e in errors}
            assert paths_named(said.split(NOT_SCHEMA + ": ", 1)[1]) >= want, (schema, text, said)
            for error in errors:
                assert error.message[:40] in said, (schema, text, said)
        elif said is not None:
            assert NOT_SCHEMA not in said, (schema, text, said)


# Found by the test above, kept as plain cases: each crashed or misworded the load.
FOUND = [
    # A bare `const: 3` reads the number as the wide DECIMAL; out of BIGINT's range it crashed.
    ({"const": 3}, "-9223372036854775809", ["3 was expected", "outside the signed 64-bit"]),
    ({"enum": [3, 4]}, "9223372036854775808", ["is not one of [3, 4]"]),
    # A bound on a number no column holds: the loading rule, not "a bug in target-sequenced".
    ({"type": "integer", "minimum": 3}, "9223372036854775808", ["outside the signed 64-bit"]),
    # jsonschema's multipleOf cannot divide 1e300 at 28 digits.
    ({"type": "number", "multipleOf": 3}, "1e300", ["is not a multiple of 3"]),
    ({"const": True}, "1.5e300", ["True was expected"]),
]


@pytest.mark.parametrize(("prop", "value", "words"), FOUND)
def test_found_cases_are_refused_in_words(prop: dict, value: str, words: list[str]) -> None:
    schema = {
        "$schema": list(DRAFTS)[1],
        "properties": {"id": {"type": "integer"}, "v": prop},
    }
    line = '{"type": "RECORD", "stream": "s", "record": {"id": 1, "v": ' + value + "}}"
    parsed = parse(schema, [line, '{"type": "RECORD", "stream": "s", "record": {"id": 2}}'])
    assert [r["id"] for r in parsed.rows] == [2]
    [said] = parsed.refused
    assert "a bug in target-sequenced" not in said
    for word in words:
        assert word in said, said


NESTED = {
    "$schema": list(DRAFTS)[1],
    "properties": {
        "id": {"type": "integer"},
        "o": {
            "type": ["object", "array", "string"],
            "properties": {
                "0": {"type": "string"},
                "g": {"type": "object", "properties": {"n": {"type": "number"}}},
            },
            "required": ["g"],
        },
    },
}


@pytest.mark.parametrize(
    "value",
    [
        '{"g": {"n": 1.5}, "0": "s"}',
        '{"g": {"n": "x"}}',  # a member two objects down
        '{"0": 5, "g": {}}',
        '{"0": "s"}',  # a required member absent
        "[5]",  # a JSON pointer to "/0" finds an array's element: not a member
        '"g"',
        '{"g": null}',
    ],
)
def test_members_at_a_fixed_place_get_jsonschema_verdicts(value: str) -> None:
    # Their types come from the line's one json_type() call, not from a parse
    # of the object (core/checks.py, _member_value).
    text = '{"id": 1, "o": ' + value + "}"
    validator = jsonschema.Draft7Validator(NESTED)
    errors = list(validator.iter_errors(json.loads(text, parse_float=decimal.Decimal)))
    parsed = parse(NESTED, ['{"type": "RECORD", "stream": "s", "record": ' + text + "}"])
    assert [r["id"] for r in parsed.rows] == ([] if errors else [1])
    if errors:
        [said] = parsed.refused
        want = {"#/" + "/".join(str(p) for p in e.path) for e in errors}
        assert paths_named(said.split(NOT_SCHEMA + ": ", 1)[1]) >= want, said


def test_an_object_of_scalars_at_a_fixed_place_is_not_parsed_again() -> None:
    # The measured choice of bench/README.md: its members' types are paths of
    # the line's one json_type() call.
    schema = {"properties": {"id": {"type": "integer"}, "o": NESTED["properties"]["o"]}}
    plan = build_plan("s", schema, ["id"], appends=False, max_identifier_length=63)
    query = compile_query(plan, Rules(), sequence_property=None, validate=True, nul_ok=True)
    assert query.select.count("from_json(") == 1
    assert "'/record/o/g/n'" in query.select


def test_a_name_twice_in_an_object_counts_its_first_value_on_every_path() -> None:
    # README, "Choices where the contract is silent": DuckDB's bulk read keeps
    # the first value, and so must Python's parse, which words refusals (it
    # worded them from the last value).
    schema = {
        "properties": {
            "id": {"type": "integer"},
            "a": {"type": ["integer", "null"]},
            "o": {"type": ["object", "null"]},
        }
    }
    first = '{"type": "RECORD", "stream": "s", "record": {"id": 1, "a": 1, "a": "x"}}'
    parsed = parse(schema, [first])
    assert [(r["id"], r["a"]) for r in parsed.rows] == [(1, 1)]
    cases = [('{"id": 2, "a": "x", "a": 1}', "'x'"), ('{"id": 2, "o": 3, "o": {}}', "3 is not of")]
    for record, words in cases:
        line = '{"type": "RECORD", "stream": "s", "record": ' + record + "}"
        parsed = parse(schema, [line])
        assert parsed.rows == []
        [said] = parsed.refused
        assert words in said, said
        assert "a bug in target-sequenced" not in said, said
