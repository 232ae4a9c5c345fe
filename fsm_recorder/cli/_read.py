"""``fsm-recorder sessions`` and ``fsm-recorder show``: decoded sessions, as tables or JSON."""

from __future__ import annotations

from datetime import datetime

import click
from rich.table import Table

from fsm_recorder.cli._common import (
    codebooks_option,
    errors,
    json_option,
    keyring,
    print_json,
    store,
    url_option,
    warn,
    wide_console,
)
from fsm_recorder.exceptions import ConfigError
from fsm_recorder.read._load import (
    find_session,
    list_sessions,
    load_sessions,
)
from fsm_recorder.read._query import SessionFilter
from fsm_recorder.read._session import Session, Step
from fsm_recorder.read._time import parse_time


def format_ts(ts: int | None) -> str:
    """Local wall-clock time of a nanosecond timestamp, to the microsecond."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts / 1e9).isoformat(sep=" ", timespec="microseconds")


def format_clock(ts: int) -> str:
    """Time of day of a nanosecond timestamp, to the microsecond (the date is in the title)."""
    return datetime.fromtimestamp(ts / 1e9).strftime("%H:%M:%S.%f")


def archive_option(func: click.decorators.FC) -> click.decorators.FC:
    """`--archive`: read archived records too (SQLite path/URL or PostgreSQL URL)."""
    return click.option(
        "--archive",
        envvar="FSM_RECORDER_ARCHIVE",
        help="Archive URL (sqlite:///path or postgresql+psycopg://...) to read as well.",
    )(func)


def _time(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    """Click callback: a time option as nanoseconds (see `fsm_recorder.read._time`)."""
    if value is None:
        return None
    try:
        return parse_time(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command("sessions")
@url_option
@archive_option
@codebooks_option
@click.option("--machine", help="Only sessions of this machine.")
@click.option("--host", help="Only sessions recorded on this host.")
@click.option("--since", callback=_time, help="Only sessions active at or after T (ISO, 15m, ...).")
@click.option("--until", callback=_time, help="Only sessions active at or before T.")
@click.option("--reached", metavar="STATE", help="Only sessions that were in STATE.")
@click.option("--exception", metavar="NAME", help="Only sessions that raised exception NAME.")
@json_option
def sessions_command(
    url: str | None,
    archive: str | None,
    codebook_dir: str | None,
    machine: str | None,
    host: str | None,
    since: int | None,
    until: int | None,
    reached: str | None,
    exception: str | None,
    as_json: bool,
) -> None:
    """List recorded sessions (live from Redis, plus the archive with --archive)."""
    where = SessionFilter(
        machine=machine,
        host=host,
        since=since,
        until=until,
        reached=reached,
        exception=exception,
    )
    with errors():
        found = list_sessions(
            url,
            archive=archive,
            codebooks=store(codebook_dir),
            on_error=warn,
            where=where,
            keys=keyring(),
        )
    if as_json:
        print_json(found)
        return
    table = Table("id", "machine", "host", "pid", "started", "steps", "ended", title="Sessions")
    for s in found:
        ended = "yes" if s["ended"] else ""
        row = (s["id"], s["machine"], s["host"], str(s["pid"]), format_ts(s["started"]))
        table.add_row(*row, str(s["steps"]), ended)
    wide_console().print(table)


@click.command("show")
@click.argument("session")
@url_option
@archive_option
@codebooks_option
@click.option("--from", "start", callback=_time, help="Only steps at or after T (ISO, 15m, ...).")
@click.option("--to", "end", callback=_time, help="Only steps at or before T.")
@json_option
def show_command(
    session: str,
    url: str | None,
    archive: str | None,
    codebook_dir: str | None,
    start: int | None,
    end: int | None,
    as_json: bool,
) -> None:
    """Show the decoded steps of SESSION (its ID, or producer:number from `sessions`)."""
    with errors():
        found = load_sessions(
            url,
            archive=archive,
            codebooks=store(codebook_dir),
            on_error=warn,
            where=SessionFilter(key=session),
            start=start,
            end=end,
            keys=keyring(),
        )
        chosen = find_session(found, session).window(start, end)
    if as_json:
        print_json([step.to_dict() for step in chosen.steps])
        return
    wide_console().print(steps_table(chosen))


def steps_table(session: Session) -> Table:
    """The steps of a session as a rich table (also used in failure reports)."""
    title = (
        f"{session.machine} session {session.id} on {session.host} pid {session.pid}, "
        f"started {format_ts(session.started)}"
    )
    table = Table("seq", "time", "+ms", "kind", "event", "from", "to/state", "detail", title=title)
    start = session.started or 0
    for step in session.steps:
        table.add_row(*_cells(step, start), style=_style(step))
    return table


def _cells(step: Step, start: int) -> tuple[str, ...]:
    where = step.dest if step.kind == "transition" else step.state
    source = step.source if step.kind == "transition" else ""
    detail = step.detail or ("" if step.args is None else str(step.args))
    elapsed = f"{(step.ts - start) / 1e6:.3f}"
    return (
        str(step.seq),
        format_clock(step.ts),
        elapsed,
        step.kind,
        step.event,
        source,
        where,
        detail,
    )


def _style(step: Step) -> str:
    return {"rejected": "yellow", "exception": "bold red", "transition": "cyan"}.get(step.kind, "")
