"""``fsm-recorder keys generate``: the archive key pair for encrypted (write-only) hosts."""

from __future__ import annotations

import json
from pathlib import Path

import click

from fsm_recorder.cli._common import errors, json_option
from fsm_recorder.exceptions import ConfigError


@click.group("keys")
def keys_group() -> None:
    """Key pairs for encrypted recording: hosts get the public key, readers the private one."""


@keys_group.command()
@click.argument("name", default="archive")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    help="Where to write NAME.key (mode 0600) and NAME.pub [default: current directory].",
)
@json_option
def generate(name: str, directory: Path, as_json: bool) -> None:
    """Write a new X25519 key pair: NAME.key (private, 0600) and NAME.pub (public).

    Give NAME.pub to recording hosts (Recorder(encrypt_to=PublicKey.load(...))); keep NAME.key
    with the drain and readers (FSM_RECORDER_KEYS=path/NAME.key). Existing files are never
    overwritten: after a rotation keep the old .key too, so old records still decode.
    """
    from fsm_recorder.format._crypto import PrivateKey

    private_path, public_path = directory / f"{name}.key", directory / f"{name}.pub"
    with errors():
        if private_path.exists() or public_path.exists():
            raise ConfigError(f"{private_path} or {public_path} exists: choose another NAME")
        directory.mkdir(parents=True, exist_ok=True)
        key = PrivateKey.generate()
        key.save(private_path, public_path)
    result = {"private": str(private_path), "public": str(public_path), "id": key.public.id.hex()}
    click.echo(json.dumps(result) if as_json else f"wrote {private_path} and {public_path}")
