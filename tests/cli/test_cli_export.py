"""`fsm-recorder export --format perfetto` and `diagram -o x.mmd`, on sessions in the test Redis."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from recordings import nested_worker, record_orders
from trace_format import check_trace

from fsm_recorder.cli import main
from fsm_recorder.ship._recorder import Recorder


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_export_writes_one_track_per_session(redis_url: str, tmp_path: Path) -> None:
    """Two sessions give a valid trace with two tracks; --steps narrows the slices."""
    record_orders(redis_url, "o-1", "o-2")
    target = tmp_path / "run.json"
    code, output = _invoke("export", "o-1", "o-2", "--format", "perfetto", "-o", str(target))
    assert code == 0, output
    assert f"wrote {target}" in output
    tracks = check_trace(json.loads(target.read_text(encoding="utf-8")))
    assert tracks == {1: [("new", 0), ("paid", 0), ("new", 0)]} | {
        2: [("new", 0), ("paid", 0), ("new", 0)]
    }
    code, output = _invoke("export", "o-1", "--steps", "0:2", "-o", str(target))
    assert code == 0, output
    assert check_trace(json.loads(target.read_text(encoding="utf-8"))) == {1: [("new", 0)]}


def test_export_of_an_unknown_session_is_a_clear_error(redis_url: str, tmp_path: Path) -> None:
    """No traceback, nothing written, the message says how to list sessions."""
    record_orders(redis_url, "o-1")
    code, output = _invoke("export", "nope", "-o", str(tmp_path / "run.json"))
    assert code == 1
    assert "no session 'nope' found" in output
    assert not (tmp_path / "run.json").exists()


def test_diagram_writes_mermaid_state_and_sequence(redis_url: str, tmp_path: Path) -> None:
    """`.mmd` targets get Mermaid text; the filters apply as for PlantUML."""
    with Recorder(redis_url, mode="sync") as recorder:
        nested_worker(recorder)
    state, sequence = tmp_path / "state.mmd", tmp_path / "seq.mmd"
    assert _invoke("diagram", "w-1", "--kind", "state", "--level", "1", "-o", str(state))[0] == 0
    assert _invoke("diagram", "w-1", "--kind", "sequence", "-o", str(sequence))[0] == 0
    state_text = state.read_text(encoding="utf-8")
    assert state_text.splitlines()[3] == "stateDiagram-v2"
    assert 'state "load' not in state_text  # level 1: the inner states are folded away
    assert "s0 --> s1 : go 2" in state_text
    assert sequence.read_text(encoding="utf-8").splitlines()[3] == "sequenceDiagram"


def test_activity_to_mermaid_is_a_usage_error(redis_url: str, tmp_path: Path) -> None:
    """Mermaid has no activity diagram: exit 2 with the kinds it does have, nothing written."""
    record_orders(redis_url, "o-1")
    code, output = _invoke("diagram", "o-1", "-o", str(tmp_path / "a.mmd"))
    assert code == 2
    assert "Mermaid (.mmd) has no activity diagram" in output
    assert "--kind state or --kind sequence" in output
    assert not (tmp_path / "a.mmd").exists()


def test_wrong_extension_names_mermaid_too(redis_url: str, tmp_path: Path) -> None:
    """An unknown extension lists every form the command writes."""
    code, output = _invoke("diagram", "o-1", "-o", str(tmp_path / "a.txt"))
    assert code == 1
    assert ".puml, .svg or .png (or .mmd for Mermaid)" in output
