"""The ``fsm-recorder`` command: one click group, one module per subcommand family."""

from __future__ import annotations

import click

from fsm_recorder.cli._common import KEYS_META


def _add_keys(ctx: click.Context, param: click.Parameter, keys: tuple[str, ...]) -> None:
    # The context's meta is shared with every subcommand: readers pick the paths up through
    # `_common.keyring()`, so one global option reaches them all.
    ctx.meta[KEYS_META] = keys


class _Main(click.Group):
    """The command group; a path the system refuses is a user error, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(
                f"{where}{exc.strerror or exc}: check the path and its permissions"
            ) from exc


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fsm-recorder")
@click.option(
    "--key",
    "keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    expose_value=False,
    callback=_add_keys,
    help="Private key file for encrypted records (repeatable; also $FSM_RECORDER_KEYS).",
)
def main() -> None:
    """Record state machines, read back their sessions, drain and draw them."""


def _register() -> None:
    from fsm_recorder.cli._archive import archive_group
    from fsm_recorder.cli._codebook import codebook_group
    from fsm_recorder.cli._diagram import diagram_command
    from fsm_recorder.cli._drain import drain_command
    from fsm_recorder.cli._export import export_command
    from fsm_recorder.cli._keys import keys_group
    from fsm_recorder.cli._read import sessions_command, show_command
    from fsm_recorder.cli._replay import replay_command
    from fsm_recorder.cli._server import server_group

    for command in (
        server_group,
        sessions_command,
        show_command,
        diagram_command,
        export_command,
        replay_command,
        drain_command,
        archive_group,
        codebook_group,
        keys_group,
    ):
        main.add_command(command)


_register()
