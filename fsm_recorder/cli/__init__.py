"""The ``fsm-recorder`` command: one click group, one module per subcommand family."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fsm-recorder")
def main() -> None:
    """Record state machines, read back their sessions, drain and draw them."""


def _register() -> None:
    from fsm_recorder.cli.server import server_group

    main.add_command(server_group)


_register()
