"""Fixtures shared by the tests: one ``db`` per test, on each dialect."""

from __future__ import annotations

import typing as t

import pytest

import target_sequenced.singer.reader as reader_module
from tests.helpers import Db, make_db
from tests.pgserver import postgres_server

DIALECTS = ["duckdb", "postgresql"]


@pytest.fixture(scope="session")
def pg_url() -> t.Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    return t.cast("str", request.param)


@pytest.fixture
def db(dialect: str, tmp_path, request: pytest.FixtureRequest) -> t.Iterator[Db]:
    pg = request.getfixturevalue("pg_url") if dialect == "postgresql" else None
    database = make_db(dialect, tmp_path, pg)
    yield database
    database.dispose()


@pytest.fixture(params=["per-record", "bulk"])
def record_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once with every line parsed on its own, once with runs read in bulk.

    Either way the records meet the same parse query: lines read in bulk
    straight from the input chunk, lines parsed on their own as texts of
    their own (the way RECORDs written unusually, stream-mapped records and
    Import API records take).
    """
    threshold = 10**9 if request.param == "per-record" else 1
    monkeypatch.setattr(reader_module, "PER_LINE_BELOW", threshold)
    return t.cast("str", request.param)
