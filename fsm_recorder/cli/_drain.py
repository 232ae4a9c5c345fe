"""``fsm-recorder drain``: move this host's records from Redis into the archive."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click
from rich.console import Console
from rich.live import Live
from rich.markup import escape

from fsm_recorder.cli._common import (
    codebooks_option,
    err_console,
    errors,
    json_option,
    keyring,
    print_json,
    store,
    url_option,
)
from fsm_recorder.read._time import parse_age
from fsm_recorder.store._drain import Drainer, DrainSettings, DrainStats

_LOG_EVERY = 1.0


def stats_line(stats: DrainStats) -> str:
    """One line of drain figures, for the live display and the log."""
    return (
        f"{stats.records} records archived ({stats.records_per_second:,.0f}/s), "
        f"{stats.duplicates} already there, batch {stats.mean_batch_ms:.1f} ms "
        f"(max {1000 * stats.max_batch_seconds:.1f}), backlog {stats.backlog_frames} frames / "
        f"{stats.backlog_records} records, dead letters {stats.dead_letters}"
    )


class _Progress:
    """A rich live line on a terminal, else a plain log line at most once a second."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._live = Live(console=console, transient=False) if console.is_terminal else None
        self._logged = 0.0

    def __enter__(self) -> _Progress:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.stop()

    def update(self, stats: DrainStats) -> None:
        """Show the latest figures."""
        if self._live is not None:
            self._live.update(stats_line(stats))
        elif time.monotonic() - self._logged >= _LOG_EVERY:
            self._logged = time.monotonic()
            self._console.print(f"drain: {stats_line(stats)}", highlight=False, soft_wrap=True)

    def error(self, exc: Exception) -> None:
        """Report a failure the long-lived drain retries."""
        err_console.print(f"[red]drain:[/] {escape(str(exc))} (retrying)", highlight=False)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or Ctrl-C: the drain stops after its current batch."""
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@click.command("drain")
@url_option
@click.option(
    "--archive",
    envvar="FSM_RECORDER_ARCHIVE",
    required=True,
    help="Archive: SQLite path or sqlite:///path, or postgresql+psycopg://user@host/db.",
)
@codebooks_option
@click.option("--prefix", envvar="FSM_RECORDER_PREFIX", help="Key prefix in Redis.")
@click.option("--once", is_flag=True, help="Drain what is there now, then exit.")
@click.option(
    "--interval", type=float, default=60.0, show_default=True, help="Seconds between passes."
)
@click.option(
    "--max-memory",
    help="Also drain once Redis uses this much: a size (64mb) or a fraction of maxmemory (0.5).",
)
@click.option("--poll", type=float, default=0.1, show_default=True, help="Seconds between checks.")
@click.option(
    "--batch-frames", type=int, default=500, show_default=True, help="Frames per batch, at most."
)
@click.option(
    "--batch-records",
    type=int,
    default=100_000,
    show_default=True,
    help="Records per batch (aim).",
)
@click.option(
    "--claim-idle",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds before pending frames of a silent drain are taken over.",
)
@click.option(
    "--prune-older-than",
    "prune_age",
    help="Also prune records older than this (30d, 12h), at most once an hour.",
)
@json_option
def drain_command(
    url: str | None,
    archive: str,
    codebook_dir: str | None,
    prefix: str | None,
    once: bool,
    interval: float,
    max_memory: str | None,
    poll: float,
    batch_frames: int,
    batch_records: int,
    claim_idle: float,
    prune_age: str | None,
    as_json: bool,
) -> None:
    """Move recorded frames from this host's Redis into ARCHIVE, exactly once.

    Frames leave Redis only after the archive committed them. Without --once the drain keeps
    running, waking every --interval seconds and as soon as Redis memory passes --max-memory;
    SIGTERM or Ctrl-C stops it after the current batch.
    """
    console = Console(stderr=as_json)
    with errors():
        settings = DrainSettings(
            archive,
            url,
            prefix,
            batch_frames,
            batch_records,
            interval,
            max_memory,
            poll,
            claim_idle,
            None if prune_age is None else parse_age(prune_age) / 10**9,
        )
        with _stop_on_signals() as stop, _Progress(console) as progress:
            drainer = Drainer(
                settings,
                codebooks=store(codebook_dir),
                keys=keyring(),
                on_batch=progress.update,
                on_error=None if once else progress.error,
            )
            try:
                stats = drainer.drain(stop) if once else drainer.run(stop)
            finally:
                drainer.close()
    if as_json:
        print_json(stats.summary())
    else:
        console.print(f"drain done: {stats_line(stats)}", highlight=False, soft_wrap=True)
    if stats.dead_letters:
        err_console.print(
            f"[yellow]warning:[/] {stats.dead_letters} frames went to the archive's dead_letters "
            "table (undecodable or unknown codebook)",
            highlight=False,
        )
    sys.stdout.flush()
