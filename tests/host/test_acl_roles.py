"""ACL roles: what each may write, checked command by command against the docs' table.

The list of write commands is not a fixed handful: it is every command and subcommand the
running server flags as ``write``, each tried per role with ``ACL DRYRUN``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from fsm_recorder import config
from fsm_recorder.host import _server as server
from fsm_recorder.host._settings import ServerConfig

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


@pytest.fixture
def acl_server(server_config: ServerConfig) -> ServerConfig:
    """A server of the test's own with least-privilege users (server_config stops it)."""
    cfg = replace(server_config, acl=True)
    server.start(cfg)
    return cfg


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _write_commands(admin: redis.Redis) -> dict[str, list[str]]:
    """Every command and subcommand the server flags as a write, by name, with as many
    arguments as its arity asks for (all the stream's key, inside the roles' key pattern)."""
    found = {}
    for name, info in admin.command().items():
        entries = [
            (_text(sub_name).split("|"), arity, flags)
            for sub_name, arity, flags, *_ in info.get("subcommands") or []
        ] or [([name], info["arity"], info["flags"])]
        for words, arity, flags in entries:
            if "write" in {_text(flag) for flag in flags}:
                filler = [config.stream_key()] * max(abs(int(arity)) - len(words), 0)
                found[" ".join(words)] = [*words, *filler]
    return found


def _allowed(admin: redis.Redis, user: str, command: list[str]) -> bool:
    """Whether ACL DRYRUN lets `user` run `command` (it answers OK or says why not); an error
    (a command it cannot check) counts as yes, so that nothing passes as refused by mistake."""
    try:
        answer = admin.execute_command("ACL", "DRYRUN", user, *command)
    except redis.ResponseError:
        return True
    return _text(answer) == "OK"


def _documented(role: str) -> set[str]:
    """The write commands the security table of docs/operations.md grants `role`."""
    lines = DOCS.read_text().splitlines()
    [row] = [line for line in lines if line.strip().startswith(f"| **{role}** |")]
    granted = row.split("|")[2].split("(")[0]  # the scripts in parentheses are not writes
    return {command.lower() for command in re.findall(r"`([A-Z][A-Z ]*)`", granted)}


@pytest.mark.parametrize("role", ["producer", "drain"])
def test_each_role_may_run_exactly_the_write_commands_the_docs_list(
    acl_server: ServerConfig, role: str
) -> None:
    """Of every write command the server knows, a role may run the ones documented, no other."""
    with redis.Redis.from_url(server.role_url(acl_server, "admin")) as admin:
        writes = _write_commands(admin)
        assert len(writes) > 50
        assert {"xadd", "incrby", "function load"} <= set(writes)
        opened = {name for name, command in writes.items() if _allowed(admin, role, command)}
    assert opened == _documented(role)


@pytest.mark.xfail(
    strict=True,
    reason="Redis 7.0 ACLs cannot restrict XADD's arguments, and a function or script runs with "
    "its caller's permissions, so a producer that may append may also trim (docs: Security)",
)
def test_a_producer_cannot_trim_what_other_producers_appended(acl_server: ServerConfig) -> None:
    """XADD ... MAXLEN 1 by the producer user leaves the frames already in the stream."""
    stream = config.stream_key()
    with redis.Redis.from_url(server.role_url(acl_server, "admin")) as admin:
        for _ in range(3):
            admin.xadd(stream, {config.FRAME_FIELD: b"frame"})
    with (
        redis.Redis.from_url(server.role_url(acl_server, "producer")) as producer,
        pytest.raises(redis.exceptions.NoPermissionError),
    ):
        producer.xadd(stream, {config.FRAME_FIELD: b"x"}, maxlen=1, approximate=False)
