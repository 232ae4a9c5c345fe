"""`fsm-recorder --key FILE`: private keys reach every reader as an argument, not via os.environ."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner
from recordings import order_machine

from fsm_recorder.cli import main
from fsm_recorder.format._crypto import KEYS_ENV, PrivateKey, PublicKey
from fsm_recorder.ship._recorder import Recorder


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


def _record_sealed(url: str, public: PublicKey) -> None:
    with Recorder(url, mode="sync", encrypt_to=public) as rec:
        machine = order_machine(rec, "sealed-1")
        machine.pay()
        machine.end_session()


def test_key_option_opens_frames_for_show_sessions_and_drain(
    redis_url: str, tmp_path: Path
) -> None:
    """show, sessions and drain read sealed frames with --key; the environment stays untouched."""
    key = PrivateKey.generate()
    key.save(tmp_path / "a.key", tmp_path / "a.pub")
    _record_sealed(redis_url, PublicKey.load(tmp_path / "a.pub"))
    assert _run("show", "sealed-1", "--json")[0] == 1  # sealed: no session without the key
    code, out = _run("--key", str(tmp_path / "a.key"), "show", "sealed-1", "--json")
    assert code == 0
    assert [s["event"] for s in json.loads(out) if s["kind"] == "event"] == ["pay"]
    code, out = _run("--key", str(tmp_path / "a.key"), "sessions", "--json")
    assert [s["id"] for s in json.loads(out)] == ["sealed-1"]
    archive = f"sqlite:///{tmp_path / 'archive.db'}"
    code, out = _run("--key", str(tmp_path / "a.key"), "drain", "--once", "--archive", archive)
    assert code == 0
    assert KEYS_ENV not in os.environ
    code, out = _run("show", "sealed-1", "--archive", archive, "--json")  # archived in clear
    assert code == 0
    assert len(json.loads(out)) == 6  # start, event, transition, exit, enter, end
