"""The slow side, for scale: draining the per-host Redis into an archive, and PlantUML text.

Each row is optional: a part of fsm-recorder (or of the suite) that is not there, or a PostgreSQL
server that does not answer, gives a row marked "not measured" with the reason, never a failure.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

NOT_MEASURED = "not measured"
BENCH_DATABASE = "fsmr_bench"
POSTGRES_ENV = ("FSM_RECORDER_BENCH_POSTGRES", "FSM_RECORDER_TEST_POSTGRES")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def drain_rows(transitions: int, processes: int) -> dict[str, Any]:
    """Records/s of the drain into SQLite and PostgreSQL, by `benchmarks/drain_million.py`.

    That script records from several processes, then (``after=True``) drains alone, so the
    rate is the drain's own; it checks every record arrived exactly once. Each archive gets a
    run of its own.
    """
    try:
        million = importlib.import_module("benchmarks.drain_million")
    except ImportError as exc:
        return {"sqlite": _missing(exc), "postgresql": _missing(exc)}
    rows = {"sqlite": _drained(million.run, transitions, processes, None)}
    postgres = _postgres_url()
    rows["postgresql"] = (
        postgres
        if isinstance(postgres, dict)
        else _drained(million.run, transitions, processes, postgres)
    )
    return rows


def _drained(run: Any, transitions: int, processes: int, archive: str | None) -> dict[str, Any]:
    try:
        figures = run(transitions, processes, archive, after=True)
        return {
            "records": figures["records_archived"],
            "records_per_s": figures["drain_records_per_second"],
            "seconds": figures["until_all_archived_seconds"],
            "complete": figures["exactly_once_no_gaps"],
        }
    except (TypeError, KeyError) as exc:  # the script is another helper's: its API may move
        return _missing(exc)


def _postgres_url() -> str | dict[str, Any]:
    """A fresh database of the suite's own on the configured server, or why there is none."""
    url = next((os.environ[k] for k in POSTGRES_ENV if os.environ.get(k)), DEFAULT_POSTGRES)
    parts = urlsplit(url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    try:
        import psycopg

        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
            conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    except Exception as exc:
        return _missing(exc)
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DATABASE}", "", ""))


def render_rows(steps: list[int]) -> dict[str, Any]:
    """Seconds to produce the PlantUML activity text of a cycling session of n steps."""
    try:
        make = importlib.import_module("benchmarks.bench_render").cycling_session
        activity = importlib.import_module("fsm_recorder.render").activity_diagram
    except (ImportError, AttributeError) as exc:
        return {str(n): _missing(exc) for n in steps}
    rows: dict[str, Any] = {}
    for n in steps:
        session, _ = make(n)
        began = time.perf_counter()
        text = activity(session)
        rows[str(n)] = {
            "steps": len(session.steps),
            "seconds": time.perf_counter() - began,
            "lines": len(text.splitlines()),
        }
    return rows


def _missing(exc: BaseException) -> dict[str, Any]:
    return {"status": NOT_MEASURED, "why": f"{type(exc).__name__}: {exc}"}
