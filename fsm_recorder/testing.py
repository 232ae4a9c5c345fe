"""Assertion helpers for tests of recorded machines, and the source of emitted regression tests.

Each helper is a plain ``assert`` whose message is the session's decoded steps as a table, so a
failure shows what the machine did, not only that it did something else. The pytest plugin
registers this module for assertion rewriting, so pytest also explains the comparison (list
diffs and the like). Like any ``assert``, they do nothing under ``python -O``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fsm_recorder.read._session import Session, Step
from fsm_recorder.replay._replay import (
    ReplayReport,
    SideEffects,
    load_factory,
    replay_against,
    steps_from_data,
    todays_steps,
)

_COLUMNS = ("seq", "kind", "event", "state", "dest", "detail", "args")


def _cells(step: Step) -> tuple[str, ...]:
    state = step.source if step.kind == "transition" else step.state
    args = "" if step.args is None else repr(step.args)
    return (str(step.seq), step.kind, step.event, state, step.dest, step.detail, args)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def format_steps(session: Session) -> str:
    """The session's steps as an aligned text table, headed by the session's identity."""
    title = f"session {session.id} ({session.machine}, key {session.key})"
    return f"{title}\n{_table(_COLUMNS, [_cells(step) for step in session.steps])}"


def format_report(report: ReplayReport) -> str:
    """A replay report as text: recorded and replayed side by side, divergent rows marked."""
    header = ("", "seq", "event", "recorded", "replayed")
    rows = [
        (
            "!" if row.diverged else "",
            str(row.step.seq),
            row.step.event,
            f"{row.step.before} -> {row.step.state} ({row.step.outcome})",
            f"{row.seen.before} -> {row.seen.state} ({row.seen.outcome})",
        )
        for row in report.rows
    ]
    first = report.first_divergence
    verdict = "no divergence" if first is None else f"first divergence at seq {first.step.seq}"
    return f"replay of {report.session or 'steps'} ({report.side_effects}): {verdict}\n" + _table(
        header, rows
    )


def assert_path(session: Session, states: Sequence[str], *, level: int | None = None) -> None:
    """The states entered, in order, are exactly `states` (nested ones cut to `level` parts)."""
    path = session.at_level(level).path()
    assert path == list(states), f"path of states differs\n{format_steps(session)}"


def assert_events(session: Session, events: Sequence[str]) -> None:
    """The events received, in order, are exactly `events`."""
    received = session.events()
    assert received == list(events), f"events differ\n{format_steps(session)}"


def assert_reached(session: Session, state: str) -> None:
    """The machine entered `state` at least once."""
    assert state in session.path(), f"state {state!r} never reached\n{format_steps(session)}"


def assert_not_reached(session: Session, state: str) -> None:
    """The machine never entered `state`."""
    assert state not in session.path(), f"state {state!r} was reached\n{format_steps(session)}"


def assert_no_exceptions(session: Session) -> None:
    """No callback raised while the session ran."""
    raised = [f"{s.event}: {s.detail}" for s in session.of_kind("exception")]
    assert not raised, f"callbacks raised: {raised}\n{format_steps(session)}"


def assert_replays(
    factory: str, steps: Sequence[Mapping[str, Any]], *, side_effects: SideEffects = "off"
) -> None:
    """Replaying `steps` against the machine from `factory` ("module:callable") matches them."""
    report = replay_against(
        steps_from_data(steps), load_factory(factory), side_effects=side_effects
    )
    assert not report.diverged, format_report(report)


def regression_test_source(report: ReplayReport, factory: str) -> str:
    """A pytest module that replays the report's events and pins today's outcomes and states."""
    steps = [step.to_dict() for step in todays_steps(report)]
    name = re.sub(r"\W+", "_", report.session).strip("_").lower() or "session"
    return _TEMPLATE.format(
        session=report.session,
        machine=report.machine,
        factory=factory,
        side_effects=report.side_effects,
        steps="".join(f"    {step!r},\n" for step in steps),
        name=name,
    )


_TEMPLATE = '''\
"""Regression test emitted by `fsm-recorder replay --emit-test` from session {session!r}.

Feeds the session's recorded events (with their recorded arguments) into a machine of {machine!r}
built by FACTORY and expects, after each event, the outcome and state the code had when this file
was written. "guard" is the recording's decision, used instead of conditions when SIDE_EFFECTS
is "off".
"""

from fsm_recorder.testing import assert_replays

FACTORY = {factory!r}
SIDE_EFFECTS = {side_effects!r}
STEPS = [
{steps}]


def test_replay_{name}() -> None:
    """Session {session!r} still replays along the path pinned here."""
    assert_replays(FACTORY, STEPS, side_effects=SIDE_EFFECTS)
'''
