"""``fsm-recorder codebook``: export, import and list codebooks."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from fsm_recorder.cli._common import (
    codebooks_option,
    errors,
    json_option,
    print_json,
    store,
)
from fsm_recorder.exceptions import CodebookError
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.record._machines import RecordingMachineMixin
from fsm_recorder.record._specs import load_object, machine_and_model
from fsm_recorder.ship._default import memory_recorder, set_default_recorder


@click.group("codebook")
def codebook_group() -> None:
    """Codebooks map names to the codes in records; without one, records cannot be read."""


def _derive(spec: str, codebooks: CodebookStore) -> Codebook:
    """Build the machine `spec` names under a throwaway recorder and take its codebook."""
    recorder = memory_recorder(codebooks=codebooks)
    previous = set_default_recorder(recorder)
    try:
        machine, _ = machine_and_model(load_object(spec)())
    except TypeError as exc:
        raise CodebookError(f"cannot build {spec} without arguments: {exc}") from exc
    finally:
        set_default_recorder(previous)
        recorder.close()
    if not isinstance(machine, RecordingMachineMixin):
        raise CodebookError(
            f"{spec} builds a machine that does not record (use fsm_recorder.record)"
        )
    codebook: Codebook = machine.codebook
    return codebook


def _find(target: str, codebooks: CodebookStore) -> Codebook:
    if ":" in target:
        return _derive(target, codebooks)
    found = codebooks.get(target) or codebooks.latest(target)
    if found is None:
        raise CodebookError(
            f"{target!r} is neither module:Class nor a fingerprint or machine name in "
            f"{codebooks.directory} (see `fsm-recorder codebook list`)"
        )
    return found


@codebook_group.command("export")
@click.argument("target")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON to this file instead of stdout.",
)
@codebooks_option
def export_command(target: str, output: Path | None, codebook_dir: str | None) -> None:
    """Print the codebook of TARGET: module:Class (derived from the code), a fingerprint, or a
    machine name (its latest version in the store)."""
    with errors():
        codebook = _find(target, store(codebook_dir))
    text = codebook.to_json()
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(
            f"wrote codebook {codebook.fingerprint} ({codebook.machine}) to {output}", err=True
        )


@codebook_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@codebooks_option
def import_command(files: tuple[str, ...], codebook_dir: str | None) -> None:
    """Add exported codebook FILES to the store, so records that reference them decode."""
    codebooks = store(codebook_dir)
    with errors():
        for name in files:
            codebook = Codebook.from_json(Path(name).read_bytes())
            codebooks.save(codebook)
            click.echo(f"imported {codebook.fingerprint} {codebook.machine} v{codebook.version}")


@codebook_group.command("list")
@codebooks_option
@json_option
def list_command(codebook_dir: str | None, as_json: bool) -> None:
    """List the codebooks in the store."""
    with errors():
        found = store(codebook_dir).all()
    rows = [
        {
            "fingerprint": c.fingerprint,
            "machine": c.machine,
            "version": c.version,
            "states": len(c.states),
            "events": len(c.events),
        }
        for c in found
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("fingerprint", "machine", "version", "states", "events", title="Codebooks")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)
