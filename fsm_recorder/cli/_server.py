"""``fsm-recorder server start | stop | status``: the per-host Redis-protocol server."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from fsm_recorder.cli._common import errors, json_option
from fsm_recorder.host import _server as server

EXIT_NOT_RUNNING = 3
_F = TypeVar("_F", bound=Callable[..., Any])


def _runtime_dir_option(func: _F) -> _F:
    return click.option(
        "--runtime-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Directory of socket, pid, log and data [default: $FSM_RECORDER_RUNTIME_DIR].",
    )(func)


def _config(runtime_dir: Path | None, **overrides: Any) -> server.ServerConfig:
    cfg = server.ServerConfig.from_env()
    given = {name: value for name, value in overrides.items() if value is not None}
    if runtime_dir is not None:
        given["runtime_dir"] = runtime_dir
    return replace(cfg, **given)


@click.group("server")
def server_group() -> None:
    """Run this host's private Redis-protocol server (unix socket only, no TCP port)."""


@server_group.command()
@_runtime_dir_option
@click.option("--maxmemory", help="Memory cap, e.g. 256mb [default: 256mb].")
@click.option("--appendonly/--no-appendonly", default=None, help="Keep an append-only file.")
@click.option("--appendfsync", type=click.Choice(["always", "everysec", "no"]), default=None)
@click.option(
    "--binary",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Server binary [default: $FSM_RECORDER_SERVER_BIN, redis-server, valkey-server].",
)
@click.option(
    "--acl/--no-acl",
    default=None,
    help="Least-privilege users: producer (append only), drain, admin [default: no].",
)
@json_option
def start(runtime_dir: Path | None, as_json: bool, **overrides: Any) -> None:
    """Start the server unless it runs already (exit 0 either way)."""
    with errors():
        result = server.start(_config(runtime_dir, **overrides))
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    verb = "started" if result.started else "already running:"
    click.echo(f"{verb} {result.version} (pid {result.pid}) on {result.url}")


@server_group.command()
@_runtime_dir_option
@json_option
def stop(runtime_dir: Path | None, as_json: bool) -> None:
    """Shut the server down, AOF flushed (exit 0 even if it was not running)."""
    with errors():
        stopped = server.stop(_config(runtime_dir))
    if as_json:
        click.echo(json.dumps({"stopped": stopped}))
    else:
        click.echo("stopped" if stopped else "not running")


@server_group.command(epilog="Exit status: 0 running, 3 not running, 1 error.")
@_runtime_dir_option
@click.option("--prefix", help="Key prefix whose frames to count [default: $FSM_RECORDER_PREFIX].")
@json_option
@click.pass_context
def status(ctx: click.Context, runtime_dir: Path | None, prefix: str | None, as_json: bool) -> None:
    """Show whether the server runs, its socket, memory and held frames."""
    with errors():
        result = server.status(_config(runtime_dir), prefix=prefix)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        Console().print(_table(result))
    if not result.running:
        ctx.exit(EXIT_NOT_RUNNING)


@server_group.command()
@_runtime_dir_option
@click.option("--role", type=click.Choice(server.ROLES), default="producer", show_default=True)
def url(runtime_dir: Path | None, role: str) -> None:
    """Print the URL (with password, when acl is on) a role connects with."""
    with errors():
        click.echo(server.role_url(_config(runtime_dir), role))


def _table(result: server.ServerStatus) -> Table:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")  # a path is no use cropped
    table.add_row("running", "yes" if result.running else "[red]no[/red]")
    table.add_row("socket", str(result.socket))
    table.add_row("url", result.url)
    if result.running:
        table.add_row("pid", str(result.pid))
        table.add_row("server", f"{result.version} ({result.binary})")
        table.add_row("memory", f"{_mib(result.used_memory)} of {_mib(result.maxmemory)}")
        table.add_row("policy", str(result.maxmemory_policy))
        table.add_row("frames held", str(result.frames_held))
        table.add_row("records held", str(result.records_held))
    return table


def _mib(size: int | None) -> str:
    return "unlimited" if not size else f"{size / 2**20:.1f} MiB"
