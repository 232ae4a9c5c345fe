"""``fsm-recorder replay``: re-drive a recorded session against today's code.

Exit status: 0 the replay matches the recording, 1 it diverges, 2 usage error or the replay could
not run (session not found, factory not importable, server unreachable).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import click
from rich.console import Console
from rich.table import Table

from fsm_recorder.cli._common import keyring
from fsm_recorder.exceptions import FsmRecorderError
from fsm_recorder.replay._replay import ReplayReport, SideEffects

EXIT_DIVERGED = 1
EXIT_USAGE = 2


@click.command(
    "replay", epilog="Exit status: 0 matches the recording, 1 diverges, 2 usage or replay error."
)
@click.argument("session")
@click.option(
    "--machine",
    "factory",
    required=True,
    metavar="MODULE:FACTORY",
    help="Callable returning a model with its machine attached, or a machine.",
)
@click.option(
    "--side-effects",
    type=click.Choice(get_args(SideEffects)),
    default="off",
    show_default=True,
    help="off: no user code, guards follow the recording; conditions: guards run; on: all runs.",
)
@click.option("--url", help="Redis URL holding the session [default: $FSM_RECORDER_URL].")
@click.option("--archive", help="Archive URL to read the session from as well.")
@click.option(
    "--emit-test",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a pytest file that replays the session and pins today's path.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_context
def replay_command(
    ctx: click.Context,
    session: str,
    factory: str,
    side_effects: SideEffects,
    url: str | None,
    archive: str | None,
    emit_test: Path | None,
    as_json: bool,
) -> None:
    """Feed SESSION's recorded events (ID or producer:number) into a fresh machine and compare."""
    try:
        report = _replay(session, factory, side_effects, url, archive)
        if emit_test is not None:
            from fsm_recorder.testing import regression_test_source

            emit_test.write_text(regression_test_source(report, factory), encoding="utf-8")
    except (FsmRecorderError, OSError) as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        Console().print(_table(report))
    if report.diverged:
        ctx.exit(EXIT_DIVERGED)


def _replay(
    key: str, factory: str, side_effects: SideEffects, url: str | None, archive: str | None
) -> ReplayReport:
    from fsm_recorder.read._load import find_session, load_sessions
    from fsm_recorder.replay._replay import load_factory, replay

    machine_factory = load_factory(factory)
    recorded = find_session(load_sessions(url, archive=archive, keys=keyring()), key)
    return replay(recorded, machine_factory, side_effects=side_effects)


def _table(report: ReplayReport) -> Table:
    first = report.first_divergence
    verdict = "no divergence" if first is None else f"first divergence at seq {first.step.seq}"
    table = Table(title=f"replay of {report.session} ({report.side_effects}): {verdict}")
    for column in ("seq", "event", "args", "recorded", "replayed"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        style = "red" if row.diverged else None
        recorded = f"{row.step.before} → {row.step.state} ({row.step.outcome})"
        replayed = f"{row.seen.before} → {row.seen.state} ({row.seen.outcome})"
        args = json.dumps(row.step.args) if row.step.args else ""
        table.add_row(str(row.step.seq), row.step.event, args, recorded, replayed, style=style)
    return table
