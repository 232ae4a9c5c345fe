"""TLS connections to a real server (least privilege: tests/host/test_acl.py)."""

from __future__ import annotations

import datetime
import shutil
import socket
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from recordings import toggle

from fsm_recorder import config
from fsm_recorder.host import _server as server
from fsm_recorder.host._server import ServerConfig
from fsm_recorder.ship._recorder import Recorder


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
        toggle(rec).flip()
        stats = rec.stats()
    assert (stats.written, stats.dropped) == (5, 0)
    with redis.Redis.from_url(cfg.url) as client:
        assert client.xlen(config.stream_key()) == 1
    with Recorder(f"rediss://127.0.0.1:{port}/0", mode="sync", spill=False) as untrusting:
        toggle(untrusting).flip()  # the default trust store does not know our CA: refused, counted
        assert untrusting.stats().written == 0
        assert untrusting.stats().errors["sink"] >= 1
