"""Fixtures shared by the tests: one ``db`` per test, on each dialect."""

from __future__ import annotations

import typing as t

import pytest

import target_sequenced.target as target_module
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
    """Run a test once with records loaded one by one and once with every run in bulk.

    The target picks the bulk path for runs of ``MIN_BULK_RUN`` records or more;
    the small inputs of rule-by-rule tests would otherwise only meet the
    per-record path.
    """
    threshold = 10**9 if request.param == "per-record" else 1
    monkeypatch.setattr(target_module, "MIN_BULK_RUN", threshold)
    return t.cast("str", request.param)
