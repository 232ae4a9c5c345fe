"""The archive back-ends every archive and drain test runs against, and recording helpers.

`archive_fixture` (fixture ``archive``; import it into a test module) is parametrized: an SQLite
file, and a PostgreSQL schema of the test's own when
``FSM_RECORDER_TEST_POSTGRES`` names a server (else that case skips, saying why).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine, func, select, text

from fsm_recorder import config
from fsm_recorder.store import _schema as schema
from fsm_recorder.store._schema import open_engine

POSTGRES_ENV = "FSM_RECORDER_TEST_POSTGRES"


def postgres_url() -> str:
    """The test PostgreSQL server URL, or skip the test with the reason."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server to test against")
    return url


def postgres_schema() -> Iterator[str]:
    """An archive URL on a fresh PostgreSQL schema, dropped afterwards, so runs never mix."""
    base = postgres_url()
    name = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


@pytest.fixture(
    name="archive", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def archive_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty archive URL of each back-end."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.sqlite'}"
        return
    yield from postgres_schema()


def count_rows(archive_url: str, table: str) -> int:
    """Rows in one archive table."""
    return _scalar(archive_url, select(func.count()).select_from(schema.metadata.tables[table]))


def count_records(archive_url: str) -> int:
    """Records archived: the sum of the record counts of every block."""
    return _scalar(archive_url, select(func.coalesce(func.sum(schema.blocks.c.records), 0)))


def _scalar(archive_url: str, query: Any) -> int:
    engine = open_engine(archive_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def stream_state(url: str) -> tuple[int, int]:
    """(frames in the stream, the held-records counter)."""
    with redis.Redis.from_url(url) as client:
        return int(client.xlen(config.stream_key())), int(client.get(config.held_key()) or 0)
