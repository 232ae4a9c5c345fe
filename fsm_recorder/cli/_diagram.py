"""``fsm-recorder diagram``: draw sessions as PlantUML activity, sequence or state diagrams,
or as Mermaid state and sequence diagrams (`-o x.mmd`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from fsm_recorder.cli._common import (
    codebooks_option,
    errors,
    keyring,
    store,
    url_option,
    warn,
)
from fsm_recorder.cli._read import archive_option
from fsm_recorder.exceptions import ConfigError, RenderError
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._load import find_session, load_sessions
from fsm_recorder.read._session import Session
from fsm_recorder.render import (
    Timestamps,
    activity_diagram,
    mermaid_sequence_diagram,
    mermaid_state_diagram,
    parse_steps,
    parse_time,
    sequence_diagram,
    state_diagram,
    write_diagram,
)
from fsm_recorder.render._image import format_of

F = TypeVar("F", bound=Callable[..., Any])
Kind = Literal["activity", "sequence", "state"]
MERMAID_SUFFIX = ".mmd"


def filter_options(func: F) -> F:
    """`--from`, `--to`, `--level`, `--steps`: what part of the sessions to draw or export."""
    for option in reversed(
        [
            click.option(
                "--from", "from_", help="Window start: +1.5s/+200ms after the start, or ISO time."
            ),
            click.option("--to", help="Window end, same forms as --from."),
            click.option(
                "--level", default="all", show_default=True, help="Nesting levels shown: N or all."
            ),
            click.option("--steps", help="Step (seq) range A:B, A: or :B."),
        ]
    ):
        func = option(func)
    return func


@dataclass(frozen=True)
class Filters:
    start: int | None
    end: int | None
    level: int | None
    steps: tuple[int | None, int | None] | None


@click.command("diagram", epilog="Exit status: 0 written, 1 error (the .puml is kept).")
@click.argument("keys", metavar="SESSION...", nargs=-1, required=True)
@click.option(
    "--kind",
    type=click.Choice(["activity", "sequence", "state"]),
    default="activity",
    show_default=True,
    help="activity: path over time; sequence: events as messages (several sessions side by "
    "side); state: the machine with the path overlaid.",
)
@filter_options
@click.option(
    "--timestamps",
    type=click.Choice(["absolute", "elapsed"]),
    is_flag=False,
    flag_value="elapsed",
    default=None,
    help="Times on arrows/messages (bare flag: elapsed).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write; .puml, .svg or .png (images also keep the .puml next to them), "
    "or .mmd for Mermaid (state and sequence only).",
)
@click.option("--server", help="PlantUML server URL to render with instead of the local jar.")
@url_option
@archive_option
@codebooks_option
def diagram_command(
    keys: tuple[str, ...],
    kind: Kind,
    from_: str | None,
    to: str | None,
    level: str,
    steps: str | None,
    timestamps: Timestamps | None,
    output: Path,
    server: str | None,
    url: str | None,
    archive: str | None,
    codebook_dir: str | None,
) -> None:
    """Draw SESSION (ID or producer:number; several for --kind sequence) into a diagram file."""
    mermaid = output.suffix.lower() == MERMAID_SUFFIX
    if mermaid and kind == "activity":
        raise click.UsageError(
            "Mermaid (.mmd) has no activity diagram: use --kind state or --kind sequence, "
            "or write .puml/.svg/.png for the activity diagram"
        )
    with errors():
        if not mermaid:
            _check_extension(output)  # a wrong extension fails before any reading
        codebooks = store(codebook_dir)
        found = load_sessions(
            url, archive=archive, codebooks=codebooks, on_error=warn, keys=keyring()
        )
        chosen = [find_session(found, key) for key in keys]
        filters = filters_of(chosen, from_, to, level, steps)
        text = _text(kind, chosen, codebooks, filters, timestamps, mermaid=mermaid)
    if mermaid:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
        return
    try:
        written = write_diagram(text, output, server=server)
    except RenderError as exc:
        kept = output.with_suffix(".puml")
        note = f"wrote {kept} (render it elsewhere)\n" if kept.is_file() else ""
        raise click.ClickException(f"{note}{exc}") from exc
    for path in written:
        click.echo(f"wrote {path}")


def _check_extension(output: Path) -> None:
    try:
        format_of(output)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (or {MERMAID_SUFFIX} for Mermaid)") from exc


def filters_of(
    sessions: list[Session], from_: str | None, to: str | None, level: str, steps: str | None
) -> Filters:
    origin = min((s.started for s in sessions if s.started is not None), default=None)
    return Filters(
        start=parse_time(from_, origin) if from_ else None,
        end=parse_time(to, origin) if to else None,
        level=_level(level),
        steps=parse_steps(steps) if steps else None,
    )


def _level(value: str) -> int | None:
    if value == "all":
        return None
    if not value.isdigit():
        raise ConfigError(f"--level must be a number from 1 or 'all', not {value!r}")
    return int(value)  # its range is `Session.at_level`'s to check


def _text(
    kind: Kind,
    sessions: list[Session],
    codebooks: CodebookStore,
    filters: Filters,
    timestamps: Timestamps | None,
    *,
    mermaid: bool,
) -> str:
    common = {"start": filters.start, "end": filters.end, "level": filters.level}
    if kind == "sequence":
        draw_sequence = mermaid_sequence_diagram if mermaid else sequence_diagram
        return draw_sequence(sessions, **common, steps=filters.steps, timestamps=timestamps)
    if len(sessions) != 1:
        raise ConfigError(f"--kind {kind} draws one session; --kind sequence draws several")
    [session] = sessions
    if kind == "activity":
        return activity_diagram(session, **common, steps=filters.steps, timestamps=timestamps)
    draw_state = mermaid_state_diagram if mermaid else state_diagram
    return draw_state(session, codebooks.load(session.codebook), **common, steps=filters.steps)
