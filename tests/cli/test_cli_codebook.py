"""`fsm-recorder codebook export | import | list` move codebooks between hosts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fsm_recorder.cli import main

SPEC = "examples.happy_sad.machine:Mood"


@pytest.fixture
def runner(codebook_dir: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # the examples package is importable
    return CliRunner()


def test_export_derives_the_codebook_from_the_code(runner: CliRunner) -> None:
    """`export module:Class` prints the codebook of that machine definition as JSON."""
    result = runner.invoke(main, ["codebook", "export", SPEC])
    assert result.exit_code == 0, result.output
    codebook = json.loads(result.output)
    assert codebook["machine"] == "Mood"
    assert codebook["states"] == {"Happy": 1, "Sad": 2}
    assert set(codebook["events"]) == {"lose_money", "gain_money"}


def test_export_import_round_trip_into_another_store(runner: CliRunner, tmp_path: Path) -> None:
    """An exported file imported into another store is listed there with the same fingerprint."""
    exported = tmp_path / "mood.json"
    assert runner.invoke(main, ["codebook", "export", SPEC, "-o", str(exported)]).exit_code == 0
    other = tmp_path / "other-store"
    imported = runner.invoke(main, ["codebook", "import", str(exported), "--codebooks", str(other)])
    assert imported.exit_code == 0, imported.output
    listed = runner.invoke(main, ["codebook", "list", "--json", "--codebooks", str(other)])
    [row] = json.loads(listed.output)
    assert row["machine"] == "Mood"
    assert row["fingerprint"] in imported.output


def test_bad_targets_exit_1_with_a_message(runner: CliRunner, tmp_path: Path) -> None:
    """A spec that does not import, or an unknown fingerprint, is one line on stderr, exit 1."""
    missing = runner.invoke(main, ["codebook", "export", "no_such_module:Thing"])
    assert missing.exit_code == 1
    assert "cannot import 'no_such_module'" in missing.output
    unknown = runner.invoke(main, ["codebook", "export", "0123456789abcdef"])
    assert unknown.exit_code == 1
    assert "codebook list" in unknown.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"machine": 3}')
    invalid = runner.invoke(main, ["codebook", "import", str(bad)])
    assert invalid.exit_code == 1
    assert "invalid codebook JSON" in invalid.output
