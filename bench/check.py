#!/usr/bin/env python3
"""Compare a loaded table with the expected file that bench/generate.py wrote.

  check.py --expect b.expect.jsonl --duckdb out.duckdb [--schema main] [--table bench_items]
  check.py --expect b.expect.jsonl --postgres postgresql://user@127.0.0.1:5432/db [--schema public]

Per key it decides one of:
  ok        every column equals the expected version (the one with the greatest sequence)
  stale     the row holds an older version (its `updated_at`, the version's instant, is earlier;
            without that column: with --strict-sequence, its `_sdc_sequence` is smaller)
  missing   the key is not in the table
  wrong     the expected version is there but a column differs (the columns are named)
and counts duplicate keys (more than one row; the first row read is judged) and extra keys.

Values are compared by the schema's type: date-times as instants (naive = UTC; strings parsed),
numbers as floats, integers exactly, booleans as booleans, objects/arrays as parsed JSON (DuckDB
hands JSON back as text, PostgreSQL jsonb already parsed), strings exactly ("" is not NULL).
`_sdc_*` columns are not compared, except `_sdc_sequence` with --strict-sequence (a loader may
legitimately overwrite it with its own clock; target-sequenced must not).

Exit status: 0 when every key is ok and there are no duplicate or extra keys, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import math
import sys
import typing as t
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

UTC = dt.timezone.utc
_MISSING = object()


@dataclass
class Expected:
    """The expected table: header fields and the rows by key."""

    stream: str
    key: str
    sequence: str
    version: str
    schema: dict[str, t.Any]
    rows: dict[int, dict[str, t.Any]]


@dataclass
class Result:
    """The verdict on one table."""

    expected: int = 0
    rows: int = 0
    ok: int = 0
    stale: int = 0
    missing: int = 0
    wrong: int = 0
    duplicate: int = 0
    extra: int = 0
    wrong_columns: Counter[str] = field(default_factory=Counter)
    sequence_differs: int = 0
    absent_columns: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def correct(self) -> bool:
        return (
            self.error is None
            and not self.absent_columns
            and self.ok == self.expected
            and not (self.stale or self.missing or self.wrong or self.duplicate or self.extra)
        )

    @property
    def bad(self) -> int:
        return self.stale + self.missing + self.wrong + self.duplicate + self.extra

    def summary(self) -> str:
        """One line: ok/expected, then the kinds of errors."""
        text = (
            f"ok {self.ok:,}/{self.expected:,} stale {self.stale:,} missing {self.missing:,} "
            f"wrong {self.wrong:,} dup {self.duplicate:,}"
        )
        if self.extra:
            text += f" extra {self.extra:,}"
        if self.wrong_columns:
            counts = self.wrong_columns.most_common()
            text += " (" + ", ".join(f"{c}:{n:,}" for c, n in counts) + ")"
        if self.absent_columns:
            text += " absent: " + ",".join(self.absent_columns)
        if self.error:
            text += f" ERROR: {self.error}"
        return text


def load_expected(path: str | Path) -> Expected:
    with Path(path).open(encoding="utf-8") as f:
        header = json.loads(f.readline())
        key = header["key"]
        rows = {}
        for line in f:
            row = json.loads(line)
            rows[row[key]] = row
    return Expected(
        stream=header["stream"],
        key=key,
        sequence=header["sequence"],
        version=header["version"],
        schema=header["schema"]["properties"],
        rows=rows,
    )


# ------------------------------------------------------------------ values
def _types(prop: dict[str, t.Any]) -> set[str]:
    declared = prop.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def as_instant(value: object) -> dt.datetime | None:
    """A datetime (naive = UTC) or an ISO 8601 string as an aware UTC datetime; None if neither."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, str):
        text = value.strip().replace(" ", "T", 1)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        if len(text) >= 3 and text[-3] in "+-" and text[-2:].isdigit() and "T" in text[-9:]:
            text += ":00"  # PostgreSQL's "+00"
        try:
            return as_instant(dt.datetime.fromisoformat(text))
        except ValueError:
            return _parse_fraction(text)
    return None


def _parse_fraction(text: str) -> dt.datetime | None:
    # Python 3.10's fromisoformat takes only 3 or 6 fraction digits: pad/cut them.
    head, dot, rest = text.partition(".")
    if not dot:
        return None
    digits = "".join(c for c in rest if c.isdigit())
    zone = rest[len(digits) :]
    try:
        parsed = dt.datetime.fromisoformat(f"{head}.{(digits + '000000')[:6]}{zone}")
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


def floats_equal(a: object, b: object) -> bool:
    if not (_is_number(a) and _is_number(b)):
        return False
    fa, fb = float(t.cast("float", a)), float(t.cast("float", b))
    return fa == fb or math.isclose(fa, fb, rel_tol=1e-12, abs_tol=1e-12)


def json_equal(expected: object, actual: object) -> bool:
    """Deep equality of parsed JSON; numbers compared as floats, booleans only with booleans."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if _is_number(expected):
        return floats_equal(expected, actual)
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(json_equal(v, actual[k]) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, (list, tuple))
            and len(expected) == len(actual)
            and all(json_equal(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return type(expected) is type(actual) and expected == actual


def _parse_json(actual: object) -> object:
    if isinstance(actual, (bytes, bytearray, memoryview)):
        actual = bytes(actual).decode()
    if isinstance(actual, str):
        try:
            return json.loads(actual)
        except ValueError:
            return _MISSING
    return actual


def _integer_equal(expected: object, actual: object) -> bool:
    if isinstance(actual, float) and actual.is_integer():
        actual = int(actual)
    return _is_number(actual) and int(t.cast("int", actual)) == expected == actual


def equal(prop: dict[str, t.Any], expected: object, actual: object) -> bool:
    """Whether a stored value equals the expected one, by the property's JSON Schema type."""
    types = _types(prop)
    if expected is None or actual is None:
        result = expected is None and actual is None
    elif types & {"object", "array"}:
        result = json_equal(expected, _parse_json(actual))
    elif prop.get("format") == "date-time":
        want = as_instant(expected)
        result = want is not None and want == as_instant(actual)
    elif "boolean" in types:
        result = isinstance(actual, bool) and actual == expected
    elif "integer" in types and "number" not in types:
        result = _integer_equal(expected, actual)
    elif "number" in types:
        result = floats_equal(expected, actual)
    else:
        result = isinstance(actual, str) and actual == expected
    return result


# ------------------------------------------------------------------ comparison
def compare(
    exp: Expected,
    columns: list[str],
    rows: t.Iterable[t.Sequence[object]],
    *,
    strict_sequence: bool = False,
) -> Result:
    """Judge the rows of a table (column names as the database gives them) against exp."""
    res = Result(expected=len(exp.rows))
    index = {name.lower(): i for i, name in enumerate(columns)}
    compared = [c for c in exp.schema if c != exp.key and not c.startswith("_sdc_")]
    if strict_sequence:
        compared.append(exp.sequence)
    res.absent_columns = [c for c in compared if c.lower() not in index]
    if exp.key.lower() not in index:
        res.error = f"no key column {exp.key!r}"
        res.missing = len(exp.rows)
        return res
    present = [(c, index[c.lower()], exp.schema.get(c, {"type": "integer"})) for c in compared]
    present = [p for p in present if p[0] not in res.absent_columns]
    at_key = index[exp.key.lower()]
    at_version = index.get(exp.version.lower())
    at_sequence = index.get(exp.sequence.lower())
    version_prop = exp.schema[exp.version]
    seen: set[object] = set()
    duplicated: set[object] = set()
    for row in rows:
        res.rows += 1
        key = row[at_key]
        if isinstance(key, (decimal.Decimal, float, str)):
            key = int(key)
        if key in seen:
            duplicated.add(key)
            continue
        seen.add(key)
        want = exp.rows.get(t.cast("int", key))
        if want is None:
            res.extra += 1
            continue
        bad = [name for name, i, prop in present if not equal(prop, want.get(name), row[i])]
        if bad and _older(exp, want, row, at_version, at_sequence, version_prop, strict_sequence):
            res.stale += 1
            continue
        if bad:
            res.wrong += 1
            res.wrong_columns.update(bad)
        else:
            res.ok += 1
        if at_sequence is not None and not equal(
            {"type": "integer"}, want[exp.sequence], row[at_sequence]
        ):
            res.sequence_differs += 1  # the right version, but not the record's sequence
    res.duplicate = len(duplicated)
    res.missing = len(exp.rows.keys() - seen)
    return res


def _older(  # noqa: PLR0917
    exp: Expected,
    want: dict[str, t.Any],
    row: t.Sequence[object],
    at_version: int | None,
    at_sequence: int | None,
    version_prop: dict[str, t.Any],
    strict_sequence: bool,  # noqa: FBT001
) -> bool:
    """Whether the stored row is an older version than the expected one."""
    if at_version is not None and version_prop.get("format") == "date-time":
        stored, wanted = as_instant(row[at_version]), as_instant(want[exp.version])
        return stored is not None and wanted is not None and stored < wanted
    if strict_sequence and at_sequence is not None:
        stored_seq = row[at_sequence]
        return _is_number(stored_seq) and int(t.cast("int", stored_seq)) < want[exp.sequence]
    return False


# ------------------------------------------------------------------ databases
def _missing_table(exp: Expected, error: Exception) -> Result:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return Result(expected=len(exp.rows), missing=len(exp.rows), error=first)


def check_duckdb(
    path: str | Path,
    exp: Expected,
    *,
    schema: str = "main",
    table: str | None = None,
    strict_sequence: bool = False,
) -> Result:
    import duckdb  # noqa: PLC0415  (only the backend in use needs its driver)

    table = table or exp.stream
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as e:
        return _missing_table(exp, e)
    try:
        con.execute("SET TimeZone = 'UTC'")
        try:
            cur = con.execute(f"SELECT * FROM {_ident(schema)}.{_ident(table)}")
        except duckdb.Error as e:
            return _missing_table(exp, e)
        columns = [d[0] for d in cur.description or ()]
        return compare(exp, columns, _batches(cur), strict_sequence=strict_sequence)
    finally:
        con.close()


def check_postgres(
    url: str,
    exp: Expected,
    *,
    schema: str = "public",
    table: str | None = None,
    strict_sequence: bool = False,
) -> Result:
    import psycopg  # noqa: PLC0415

    table = table or exp.stream
    with psycopg.connect(libpq_url(url), autocommit=True) as con:
        con.execute("SET TIME ZONE 'UTC'")
        try:
            cur = con.execute(f"SELECT * FROM {_ident(schema)}.{_ident(table)}")
        except psycopg.Error as e:
            return _missing_table(exp, e)
        columns = [d.name for d in cur.description or ()]
        return compare(exp, columns, _batches(cur), strict_sequence=strict_sequence)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as a libpq one (postgresql://...)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}" if sep else url


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _batches(cur: t.Any) -> t.Iterator[t.Sequence[object]]:  # noqa: ANN401
    while True:
        chunk = cur.fetchmany(10_000)
        if not chunk:
            return
        yield from chunk


# ------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--expect", required=True, help="expected file from generate.py")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--duckdb", metavar="FILE", help="a DuckDB database file")
    where.add_argument("--postgres", metavar="URL", help="a PostgreSQL URL or DSN")
    ap.add_argument("--schema", help="default: main (DuckDB), public (PostgreSQL)")
    ap.add_argument("--table", help="default: the stream's name")
    ap.add_argument(
        "--strict-sequence",
        action="store_true",
        help="also require the stored _sdc_sequence to be the expected version's",
    )
    ap.add_argument("--label", default="", help="prefix for the printed line")
    args = ap.parse_args(argv)
    exp = load_expected(args.expect)
    if args.duckdb:
        res = check_duckdb(
            args.duckdb,
            exp,
            schema=args.schema or "main",
            table=args.table,
            strict_sequence=args.strict_sequence,
        )
    else:
        res = check_postgres(
            args.postgres,
            exp,
            schema=args.schema or "public",
            table=args.table,
            strict_sequence=args.strict_sequence,
        )
    label = f"{args.label}: " if args.label else ""
    print(f"{label}{'OK' if res.correct else 'MISMATCH'} {res.summary()}")
    if res.sequence_differs and not args.strict_sequence:
        print(
            f"  note: the stored _sdc_sequence is not the record's in {res.sequence_differs:,} keys"
        )
    return 0 if res.correct else 1


if __name__ == "__main__":
    sys.exit(main())
