"""Fixtures shared by the tests: one ``db`` per test, on each dialect."""

from __future__ import annotations

import typing as t

import pytest

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
