"""Least privilege in the per-host server: ACL users per role, against real servers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from recordings import toggle

from fsm_recorder import config
from fsm_recorder.cli._server import server_group
from fsm_recorder.exceptions import ConfigError
from fsm_recorder.host import _server as server
from fsm_recorder.host._server import ServerConfig
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.store._drain import Drainer, DrainSettings


@pytest.mark.filterwarnings("ignore:The Result.tuples:DeprecationWarning")  # archive reader
def test_producer_and_drain_users_can_do_their_job_and_nothing_else(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    """With acl on, a producer only appends, the drain only drains, anonymous users get nothing."""
    cfg = replace(server_config, acl=True)
    server.start(cfg)
    assert server.status(cfg).running  # the admin (default user) still manages the server
    with Recorder(server.role_url(cfg, "producer"), mode="sync") as rec:
        toggle(rec).flip()
        assert rec.stats().written == 5
    stream = config.stream_key()
    with redis.Redis.from_url(server.role_url(cfg, "producer")) as producer:
        for denied in (
            lambda: producer.xrange(stream),
            lambda: producer.xdel(stream, "0-1"),
            lambda: producer.delete(stream),
            producer.flushall,
            lambda: producer.config_get("*"),
            lambda: producer.set("other:key", 1),
        ):
            with pytest.raises(redis.exceptions.NoPermissionError):
                denied()
    drain_url = server.role_url(cfg, "drain")
    drainer = Drainer(
        DrainSettings(archive=f"sqlite:///{tmp_path / 'a.db'}", url=drain_url),
        codebooks=rec.codebooks,
    )
    assert drainer.drain().records == 5
    drainer.close()
    with redis.Redis.from_url(drain_url) as drain:
        with pytest.raises(redis.exceptions.NoPermissionError):
            drain.xadd(stream, {b"f": b"forged"})
        with pytest.raises(redis.exceptions.NoPermissionError):
            drain.flushall()
    with (
        redis.Redis.from_url(cfg.url) as anonymous,
        pytest.raises(redis.exceptions.AuthenticationError),
    ):
        anonymous.xlen(stream)
    modes = {p.name: p.stat().st_mode & 0o777 for p in cfg.acl_dir.iterdir()}
    assert set(modes.values()) == {0o600}
    assert sorted(modes) == ["admin.password", "drain.password", "producer.password", "users.acl"]


def test_passwords_survive_a_restart_and_the_cli_prints_role_urls(
    server_config: ServerConfig,
) -> None:
    """Restarting keeps the passwords (configured URLs stay valid); `server url` prints them."""
    cfg = replace(server_config, acl=True)
    server.start(cfg)
    before = server.role_url(cfg, "producer")
    server.stop(cfg)
    server.start(cfg)
    assert server.role_url(cfg, "producer") == before
    result = CliRunner().invoke(
        server_group, ["url", "--role", "producer", "--runtime-dir", str(cfg.runtime_dir)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == before
    with redis.Redis.from_url(before) as producer:
        assert producer.ping()


def test_without_acl_every_role_is_the_plain_url_and_unknown_roles_are_refused(
    server_config: ServerConfig,
) -> None:
    """A server started without acl has no users: each role connects by the socket URL alone."""
    server.start(server_config)
    assert {server.role_url(server_config, role) for role in server.ROLES} == {server_config.url}
    with pytest.raises(ConfigError, match="unknown role 'reader'"):
        server.role_url(server_config, "reader")
