"""The `fsm-recorder` group: no command prints a traceback for a user error, whatever the path."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from recordings import record_orders

from fsm_recorder.cli import main

NOT_A_DIR = "/dev/null/x"
UNWRITABLE = "/proc/x"
BAD_ARCHIVE = f"sqlite:///{NOT_A_DIR}/archive.db"

# Every command with paths it cannot use; `test_every_command_is_covered` keeps this complete.
# A command that only reads may find nothing there and say so (exit 0, or `status`'s 3).
BAD_PATHS: dict[str, list[list[str]]] = {
    "server start": [["--runtime-dir", NOT_A_DIR], ["--runtime-dir", UNWRITABLE]],
    "server stop": [["--runtime-dir", NOT_A_DIR]],
    "server status": [["--runtime-dir", NOT_A_DIR]],
    "server url": [["--runtime-dir", NOT_A_DIR]],
    "sessions": [["--archive", BAD_ARCHIVE], ["--codebooks", NOT_A_DIR]],
    "show": [["o-1", "--archive", BAD_ARCHIVE], ["o-1", "--codebooks", NOT_A_DIR]],
    "diagram": [
        ["o-1", "-o", f"{UNWRITABLE}.puml"],
        ["o-1", "-o", f"{NOT_A_DIR}/d.puml"],
        ["o-1", "-o", "d.puml", "--codebooks", NOT_A_DIR],
    ],
    "replay": [
        ["o-1", "--factory", "recordings:order_machine", "--emit-test", f"{UNWRITABLE}.py"],
        ["o-1", "--factory", "recordings:order_machine", "--archive", BAD_ARCHIVE],
    ],
    "drain": [
        ["--once", "--archive", BAD_ARCHIVE],
        ["--once", "--archive", "sqlite:////proc/x.db"],
    ],
    "archive prune": [
        ["--archive", BAD_ARCHIVE, "--older-than", "30d"],
        ["--archive", "sqlite:////proc/x.db", "--older-than", "30d"],
    ],
    "codebook export": [["Order", "-o", f"{UNWRITABLE}.json"], ["Order", "-o", f"{NOT_A_DIR}/c"]],
    "codebook import": [[NOT_A_DIR], ["/proc/self/mem"]],
    "codebook list": [["--codebooks", NOT_A_DIR]],
    "keys generate": [["--dir", NOT_A_DIR], ["--dir", UNWRITABLE], ["--dir", "/proc"]],
    "export": [
        ["o-1", "-o", f"{UNWRITABLE}.json"],
        ["o-1", "-o", f"{NOT_A_DIR}/run.json"],
        ["o-1", "-o", "run.json", "--archive", BAD_ARCHIVE],
    ],
}
MAY_FIND_NOTHING = {
    ("server stop", NOT_A_DIR),
    ("server status", NOT_A_DIR),
    ("server url", NOT_A_DIR),
    ("sessions", NOT_A_DIR),
    ("codebook list", NOT_A_DIR),
}


def _leaves(group: click.Group, prefix: str = "") -> list[str]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.extend(_leaves(command, f"{path} "))
        else:
            found.append(path)
    return found


def test_every_command_is_covered() -> None:
    """Each subcommand the CLI has appears in the bad-path table below."""
    assert sorted(_leaves(main)) == sorted(BAD_PATHS)


@pytest.mark.parametrize(
    ("command", "args"),
    [(command, args) for command, cases in BAD_PATHS.items() for args in cases],
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_bad_paths_give_a_message_and_a_non_zero_exit(
    command: str, args: list[str], redis_url: str, tmp_path: object
) -> None:
    """An unusable path is a one-line error and exit status 1 or 2, never a traceback."""
    record_orders(redis_url, "o-1")
    result = CliRunner().invoke(main, [*command.split(), *args], catch_exceptions=True)
    assert "Traceback" not in result.output
    # An exception that escaped click would be here (CliRunner catches it instead of printing).
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    if (command, args[-1]) not in MAY_FIND_NOTHING:
        assert result.exit_code in (1, 2), result.output
        assert "Error" in result.output
