"""Options and error handling every subcommand shares, so they behave alike."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from fsm_recorder.exceptions import FsmRecorderError
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.format._crypto import KeyRing, default_keyring

F = TypeVar("F", bound=Callable[..., Any])
KEYS_META = "fsm_recorder.keys"
err_console = Console(stderr=True)


def wide_console() -> Console:
    """A console for tables: the terminal's width, or 160 columns when piped (not rich's 80)."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def json_option(func: F) -> F:
    """`--json`: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")(func)


def url_option(func: F) -> F:
    """`--url`: the Redis to read from."""
    return click.option(
        "--url",
        envvar="FSM_RECORDER_URL",
        help="Redis URL (redis://, rediss://, unix://) [default: this host's server].",
    )(func)


def codebooks_option(func: F) -> F:
    """`--codebooks`: the codebook store directory."""
    return click.option(
        "--codebooks",
        "codebook_dir",
        envvar="FSM_RECORDER_CODEBOOKS",
        type=click.Path(file_okay=False),
        help="Codebook store directory [default: ~/.local/share/fsm-recorder/codebooks].",
    )(func)


def store(codebook_dir: str | None) -> CodebookStore:
    """The codebook store named by `--codebooks` (or the default)."""
    return CodebookStore(codebook_dir)


def keyring() -> KeyRing:
    """The private keys for encrypted records: ``fsm-recorder --key FILE ...``, then the variable
    ``FSM_RECORDER_KEYS``."""
    context = click.get_current_context(silent=True)
    return default_keyring(context.meta.get(KEYS_META, ()) if context else ())


@contextmanager
def errors() -> Iterator[None]:
    """Turn a known failure into a one-line message and exit status 1, never a traceback."""
    try:
        yield
    except FsmRecorderError as exc:
        raise click.ClickException(str(exc)) from exc


def warn(where: str, exc: Exception) -> None:
    """Report a problem that does not stop the command (e.g. one undecodable frame)."""
    err_console.print(f"[yellow]warning:[/] {escape(where)}: {escape(str(exc))}", highlight=False)


def print_json(data: Any) -> None:
    """JSON on stdout, one document."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
