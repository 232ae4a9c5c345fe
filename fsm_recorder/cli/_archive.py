"""``fsm-recorder archive``: look after the archive itself (retention)."""

from __future__ import annotations

import time

import click

from fsm_recorder.cli._common import errors, json_option, print_json, wide_console
from fsm_recorder.read._time import parse_age
from fsm_recorder.store._retention import prune


@click.group("archive")
def archive_group() -> None:
    """Look after an archive the drain writes."""


@archive_group.command("prune")
@click.option(
    "--archive",
    envvar="FSM_RECORDER_ARCHIVE",
    required=True,
    help="Archive: SQLite path or sqlite:///path, or postgresql+psycopg://user@host/db.",
)
@click.option("--older-than", "age", required=True, help="Age of what goes: 30d, 12h, ...")
@json_option
def prune_command(archive: str, age: str, as_json: bool) -> None:
    """Remove records older than --older-than, and the sessions that ended before then.

    On PostgreSQL whole monthly partitions are dropped, so the cutoff is rounded down to the
    start of its month.
    """
    with errors():
        pruned = prune(archive, time.time_ns() - parse_age(age))
    if as_json:
        print_json({"cutoff": pruned.cutoff, "sessions": pruned.sessions,
                    "partitions": pruned.partitions})  # fmt: skip
        return
    cutoff = time.strftime("%Y-%m-%d %H:%M", time.localtime(pruned.cutoff // 10**9))
    wide_console().print(
        f"pruned {pruned.sessions} sessions and {pruned.partitions} partitions "
        f"(records before {cutoff})",
        highlight=False,
    )
