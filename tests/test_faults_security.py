"""Least privilege in Redis (ACL users per role) and TLS connections, against real servers."""

from __future__ import annotations

import datetime
import shutil
import socket
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from fsm_recorder import config
from fsm_recorder.cli._server import server_group
from fsm_recorder.host import _server as server
from fsm_recorder.host._server import ServerConfig
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.store._drain import Drainer, DrainSettings


def _flip_once(rec: Recorder) -> None:
    machine = RecordedMachine(
        states=["off", "on"],
        transitions=[["flip", "off", "on"]],
        initial="off",
        recorder=rec,
        name="Toggle",
    )
    machine.flip()


@pytest.mark.filterwarnings("ignore:The Result.tuples:DeprecationWarning")  # archive reader
def test_producer_and_drain_users_can_do_their_job_and_nothing_else(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    """With acl on, a producer only appends, the drain only drains, anonymous users get nothing."""
    cfg = replace(server_config, acl=True)
    server.start(cfg)
    assert server.status(cfg).running  # the admin (default user) still manages the server
    with Recorder(server.role_url(cfg, "producer"), mode="sync") as rec:
        _flip_once(rec)
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


def _supports_tls(binary: str) -> bool:
    probe = subprocess.run(
        [binary, "--port", "0", "--tls-port", "1", "--test-memory", "0"],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    return "tls-port" not in probe.stdout + probe.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]
    names = [x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]) for cn in ("ca", "redis")]

    def cert(index: int, extensions: list[tuple[x509.ExtensionType, bool]]) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(names[index])
            .issuer_name(names[0])
            .public_key(keys[index].public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical)
        return builder.sign(keys[0], hashes.SHA256())

    import ipaddress

    ca = cert(0, [(x509.BasicConstraints(ca=True, path_length=None), True)])
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    leaf = cert(1, [(san, False)])
    paths = directory / "ca.pem", directory / "redis.pem", directory / "redis.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        keys[1].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_rediss_urls_work_against_a_tls_server(server_config: ServerConfig) -> None:
    """A recorder given a rediss:// URL writes over TLS, verifying the server's certificate."""
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None or not _supports_tls(binary):
        pytest.skip("this redis-server binary was built without TLS support")
    ca, cert, key = _certificates(server_config.runtime_dir)
    port = _free_port()
    cfg = replace(
        server_config,
        extra_args=(
            "--tls-port",
            str(port),
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(ca),
            "--tls-auth-clients",
            "no",
        ),
    )
    server.start(cfg)
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca}&ssl_cert_reqs=required"
    with Recorder(url, mode="sync", spill=False) as rec:
        _flip_once(rec)
        stats = rec.stats()
    assert (stats.written, stats.dropped) == (5, 0)
    with redis.Redis.from_url(cfg.url) as client:
        assert client.xlen(config.stream_key()) == 1
    with Recorder(f"rediss://127.0.0.1:{port}/0", mode="sync", spill=False) as untrusting:
        _flip_once(untrusting)  # the default trust store does not know our CA: refused, counted
        assert untrusting.stats().written == 0
        assert untrusting.stats().errors["sink"] >= 1
