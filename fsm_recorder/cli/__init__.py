"""The ``fsm-recorder`` command: one click group, one module per subcommand family."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fsm-recorder")
def main() -> None:
    """Record state machines, read back their sessions, drain and draw them."""


def _register() -> None:
    from fsm_recorder.cli.codebook import codebook_group
    from fsm_recorder.cli.diagram import diagram_command
    from fsm_recorder.cli.read import sessions_command, show_command
    from fsm_recorder.cli.replay import replay_command
    from fsm_recorder.cli.server import server_group

    main.add_command(server_group)
    main.add_command(codebook_group)
    main.add_command(sessions_command)
    main.add_command(show_command)
    main.add_command(replay_command)
    main.add_command(diagram_command)

    from fsm_recorder.cli.drain import drain_command

    main.add_command(drain_command)


_register()
