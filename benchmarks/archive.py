"""Benchmark: the archive, version-1 layout (the drain before blocks) against blocks, in one run.

The same frames (recorded once, in batched mode, sessions of 5,000 transitions) are written into
fresh archives by both writers, interleaved round by round: each is timed from frame bytes to
COMMIT (decoding included), on SQLite and, with ``--postgres URL``, on PostgreSQL. Sizes are the
SQLite file after a WAL checkpoint, and on PostgreSQL every table, index and TOAST of the
archive's schema. The version-1 writer is the code of commit `LEGACY`, loaded from git, so the
comparison is against the real thing, not a re-creation.

Then ``sessions --reached`` over an index of 1,000,000 sessions (one in 1,000 reached the state
asked for): in-process (`list_archived`) and as the whole ``fsm-recorder sessions`` process.

    python -m benchmarks.archive [--transitions 250000] [--rounds 2] [--postgres URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks.env import private_env
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._archived import list_archived
from fsm_recorder.read._query import SessionFilter
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._default import memory_recorder
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship.sinks._memory import MemorySink
from fsm_recorder.store._writer import ArchiveWriter, Batch, parse

LEGACY = "d47ccc0"  # the last commit with the version-1 archive (one row per record)
ROOT = Path(__file__).resolve().parent.parent
SESSION = 5_000
BATCH_RECORDS = 100_000
SESSIONS_INDEXED = 1_000_000


def record(transitions: int, store: CodebookStore) -> list[bytes]:
    """Frames of `transitions` flat transitions, as the writer thread framed them."""
    with Recorder(sink=MemorySink(), codebooks=store) as rec:
        machine = RecordedMachine(
            states=["idle", "busy"],
            transitions=[["start", "idle", "busy"], ["stop", "busy", "idle"]],
            initial="idle", recorder=rec, name="Worker",
        )  # fmt: skip
        for done in range(0, transitions, 2):
            if done and done % SESSION == 0:
                machine.end_session()
                machine.new_session()
            machine.start()
            machine.stop()
        machine.end_session()
        rec.flush(timeout=120)
        return list(rec.sink.frames)  # type: ignore[attr-defined]


def legacy_modules() -> tuple[types.ModuleType, types.ModuleType]:
    """The version-1 schema and writer modules, loaded from commit `LEGACY`."""

    def load(name: str, path: str, replace: tuple[str, str] | None = None) -> types.ModuleType:
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{LEGACY}:{path}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        if replace:
            source = source.replace(*replace)
        module = types.ModuleType(name)
        sys.modules[name] = module
        exec(compile(source, f"{LEGACY}:{path}", "exec"), module.__dict__)
        return module

    schema = load("_legacy_schema", "fsm_recorder/store/_schema.py")
    writer = load(
        "_legacy_writer",
        "fsm_recorder/store/_writer.py",
        ("from fsm_recorder.store import _schema as schema", "import _legacy_schema as schema"),
    )
    return schema, writer


def batches(frames: list[bytes], decode: Callable[[bytes], Any], count: Callable[[Any], int]):  # type: ignore[no-untyped-def]
    """Frames decoded by `decode`, cut into batches of about `BATCH_RECORDS` records."""
    batch: list[Any] = []
    held = 0
    for data in frames:
        item = decode(data)
        batch.append(item)
        held += count(item)
        if held >= BATCH_RECORDS:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


@contextmanager
def fresh_archive(kind: str, postgres: str | None, tmp: Path) -> Iterator[str]:
    """An empty archive URL: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'{secrets.token_hex(4)}.sqlite'}"
        return
    assert postgres is not None
    name = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(postgres)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        sep = "&" if "?" in postgres else "?"
        yield f"{postgres}{sep}options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


def archive_bytes(url: str) -> int:
    """Bytes the archive takes: the SQLite file, or every relation of the PostgreSQL schema."""
    engine = create_engine(url)
    with engine.connect() as conn:
        if url.startswith("sqlite"):
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            return os.path.getsize(url.split("///", 1)[1])
        found = conn.execute(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )).scalar_one()  # fmt: skip
    engine.dispose()
    return int(found)


def run_once(variant: str, frames: list[bytes], store: CodebookStore, url: str) -> float:
    """Seconds from frame bytes to the last COMMIT for one writer into `url`."""
    books = {}
    for data in frames[:1] + frames[-1:]:
        for fp in wire.decode_frame(data).sessions.values():
            books[fp] = store.load(fp)
    if variant == "blocks":
        writer: Any = ArchiveWriter(url)
        make = lambda items: Batch(frames=items, codebooks=books)  # noqa: E731
        cut = batches(frames, parse, lambda p: p.frame.count)
    else:
        _, legacy = legacy_modules()
        writer = legacy.ArchiveWriter(url)
        make = lambda items: legacy.Batch(frames=items, codebooks=books)  # noqa: E731
        cut = batches(frames, wire.decode_frame, lambda f: len(f.records))
    began = time.perf_counter()
    for items in cut:
        writer.write(make(items))
    seconds = time.perf_counter() - began
    writer.close()
    return seconds


def compare(transitions: int, rounds: int, postgres: str | None, tmp: Path) -> dict[str, Any]:
    """Both writers on each back-end, interleaved; median transitions/s and bytes/transition."""
    store = CodebookStore(tmp / "codebooks")
    frames = record(transitions, store)
    kinds = ["sqlite"] + (["postgresql"] if postgres else [])
    seconds: dict[tuple[str, str], list[float]] = {}
    sizes: dict[tuple[str, str], int] = {}
    for number in range(rounds):
        order = ["v1", "blocks"] if number % 2 == 0 else ["blocks", "v1"]
        for kind in kinds:
            for variant in order:
                with fresh_archive(kind, postgres, tmp) as url:
                    took = run_once(variant, frames, store, url)
                    seconds.setdefault((kind, variant), []).append(took)
                    sizes[(kind, variant)] = archive_bytes(url)
    result: dict[str, Any] = {
        "transitions": transitions,
        "records": _records(frames),
        "frame_bytes_per_transition": round(sum(map(len, frames)) / transitions, 2),
    }
    for (kind, variant), runs in seconds.items():
        result[f"{kind}_{variant}_transitions_per_s"] = round(transitions / statistics.median(runs))
        result[f"{kind}_{variant}_bytes_per_transition"] = round(
            sizes[(kind, variant)] / transitions, 2
        )
    for kind in kinds:
        result[f"{kind}_speedup"] = round(
            result[f"{kind}_blocks_transitions_per_s"] / result[f"{kind}_v1_transitions_per_s"], 2
        )
        result[f"{kind}_size_ratio"] = round(
            result[f"{kind}_v1_bytes_per_transition"]
            / result[f"{kind}_blocks_bytes_per_transition"],
            1,
        )
    return result


def _records(frames: list[bytes]) -> int:
    return sum(int(wire.HEADER.unpack_from(f)[5]) for f in frames)


def reached_query(kind: str, postgres: str | None, tmp: Path) -> dict[str, Any]:
    """`sessions --reached rare` over 1,000,000 indexed sessions, 1,000 of which were there."""
    store = CodebookStore(tmp / "codebooks-q")
    rec = memory_recorder(codebooks=store)
    machine = RecordedMachine(
        states=["idle", "busy", "rare"], initial="idle", recorder=rec, name="Indexed",
        transitions=[["start", "idle", "busy"], ["stop", "busy", "idle"]],
    )  # fmt: skip
    machine.start()
    machine.end_session()
    rec.flush()
    with fresh_archive(kind, postgres, tmp) as url:
        writer = ArchiveWriter(url)
        books = {book.fingerprint: book for book in store.all()}
        parsed = [parse(f) for f in rec.sink.frames]  # type: ignore[attr-defined]
        writer.write(Batch(frames=parsed, codebooks=books))
        rare = store.all()[0].states["rare"]
        with writer.engine.begin() as conn:
            _fill_index(conn, kind, rare)
        writer.refresh_statistics()  # what the drain does hourly
        writer.close()
        began = time.perf_counter()
        found = list_archived(url, SessionFilter(reached="rare"))
        in_process = time.perf_counter() - began
        code = "from fsm_recorder.cli import main; main()"
        cli = [sys.executable, "-c", code, "sessions", "--archive", url,
               "--reached", "rare", "--json"]  # fmt: skip
        with private_env():  # the CLI lists live sessions too: an empty server of its own
            cpu = _children_cpu()
            began = time.perf_counter()
            done = subprocess.run(cli, capture_output=True, text=True, check=False)
            whole = time.perf_counter() - began
            cli_cpu = _children_cpu() - cpu
    return {
        f"{kind}_reached_sessions_indexed": SESSIONS_INDEXED,
        f"{kind}_reached_found": len(found),
        f"{kind}_reached_query_s": round(in_process, 3),
        f"{kind}_reached_cli_process_s": round(whole, 3),
        f"{kind}_reached_cli_process_cpu_s": round(cli_cpu, 3),
        f"{kind}_reached_cli_found": len(json.loads(done.stdout))
        if done.returncode == 0
        else done.stderr[-300:],
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _fill_index(conn: Any, kind: str, rare: int) -> None:
    """1,000,000 session rows copied from the one real session; every 1,000th reached `rare`."""
    series = (
        "generate_series(1, :n) AS g(i)" if kind == "postgresql"
        else "(WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) "
        "SELECT i FROM g) AS g"
    )  # fmt: skip
    copy = ", ".join(
        ["machine", "host", "pid", "codebook", "first_seq", "last_seq", "steps", "ended"]
    )
    conn.execute(text(
        f"INSERT INTO sessions (producer, number, session_id, first_ts, last_ts, {copy}) "
        f"SELECT s.producer, s.number + g.i, 'bench-' || g.i, s.first_ts + g.i, s.last_ts + g.i, "
        f"{', '.join('s.' + c for c in copy.split(', '))} FROM sessions s, {series}"
    ), {"n": SESSIONS_INDEXED - 1})  # fmt: skip
    conn.execute(text(
        "INSERT INTO session_states (producer, number, state) "
        "SELECT producer, number, 1 FROM sessions WHERE session_id LIKE 'bench-%'"
    ))  # fmt: skip
    conn.execute(text(
        "INSERT INTO session_states (producer, number, state) SELECT producer, number, :rare "
        "FROM sessions WHERE session_id LIKE 'bench-%' AND (number % 1000) = 0"
    ), {"rare": rare})  # fmt: skip


def main() -> None:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=250_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--postgres", help="PostgreSQL URL (a schema per run is made and dropped)")
    parser.add_argument("--skip-query", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fsmr-archive-") as tmp:
        figures = compare(args.transitions, args.rounds, args.postgres, Path(tmp))
        if not args.skip_query:
            for kind in ["sqlite"] + (["postgresql"] if args.postgres else []):
                figures |= reached_query(kind, args.postgres, Path(tmp))
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for name, value in figures.items():
            print(f"{name:45} {value}")


if __name__ == "__main__":
    main()
