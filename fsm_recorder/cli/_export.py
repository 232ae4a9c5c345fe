"""``fsm-recorder export``: sessions as a Chrome trace that Perfetto and chrome://tracing open."""

from __future__ import annotations

import json
from pathlib import Path

import click

from fsm_recorder.cli._common import codebooks_option, errors, store, url_option, warn
from fsm_recorder.cli._diagram import filter_options, filters_of
from fsm_recorder.cli._read import archive_option
from fsm_recorder.read._load import find_session, load_sessions
from fsm_recorder.render import perfetto_trace


@click.command("export")
@click.argument("keys", metavar="SESSION...", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["perfetto"]),
    default="perfetto",
    show_default=True,
    help="perfetto: Chrome trace JSON (ui.perfetto.dev, chrome://tracing).",
)
@filter_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write (e.g. run.json).",
)
@url_option
@archive_option
@codebooks_option
def export_command(
    keys: tuple[str, ...],
    fmt: str,
    from_: str | None,
    to: str | None,
    level: str,
    steps: str | None,
    output: Path,
    url: str | None,
    archive: str | None,
    codebook_dir: str | None,
) -> None:
    """Export SESSION... (IDs or producer:number) as one trace: a track per session."""
    with errors():
        found = load_sessions(url, archive=archive, codebooks=store(codebook_dir), on_error=warn)
        chosen = [find_session(found, key) for key in keys]
        filters = filters_of(chosen, from_, to, level, steps)
        trace = perfetto_trace(
            chosen, start=filters.start, end=filters.end, level=filters.level, steps=filters.steps
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(trace), encoding="utf-8")
    click.echo(f"wrote {output} ({fmt}: {len(trace['traceEvents'])} trace events)")
