"""The benchmark suite: its short mode runs end to end, and its regression check bites."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report, run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One very short quick run (2 rounds of 100 transitions, 0.2 s of throughput), shared."""
    out = tmp_path_factory.mktemp("bench")
    sizes = ["--rounds", "2", "--transitions", "100", "--bytes-transitions", "2000"]
    where = ["--results", str(out), "--name", "t", "--baseline", str(out / "absent.json")]
    status = run.main(["--quick", *sizes, "--seconds", "0.2", *where])
    assert status == 0  # no baseline in `out`: nothing to regress against
    return json.loads((out / "t.json").read_text()), out


def test_quick_run_measures_every_contender_and_target(
    tiny_run: tuple[dict[str, Any], Path],
) -> None:
    """Every group has its bare reference first and every contender, all with positive times."""
    results, _ = tiny_run
    flat = [row["name"] for row in results["groups"]["flat"]]
    assert flat[0] == "bare"
    assert {report.DEBUG, report.SQLITE, report.XADD, report.BATCHED, report.SYNC} <= set(flat)
    assert set(results["groups"]) == {"flat", "nested", "async"}
    rows = [row for rows in results["groups"].values() for row in rows]
    assert all(row["ns"] > 0 and row["rounds"] == 2 for row in rows)
    assert [t["name"] for t in results["targets"]] == [t.name for t in report.TARGETS]


def test_quick_run_loses_no_record_and_weighs_the_stream(
    tiny_run: tuple[dict[str, Any], Path],
) -> None:
    """The throughput run's counts agree end to end, and the stream holds some bytes per step."""
    results, _ = tiny_run
    one = results["throughput"]["one"]
    assert one["no_loss"] is True
    assert one["records"] == one["records_in_stream"] > 0
    assert (
        0
        < results["bytes"]["payload_per_transition"]
        < results["bytes"]["debug_log_per_transition"]
    )


def test_identical_run_is_no_regression(tiny_run: tuple[dict[str, Any], Path]) -> None:
    """A run compared with itself passes."""
    results, _ = tiny_run
    assert report.regressions(results, results) == []


def test_clearly_worse_ratio_is_a_regression(tiny_run: tuple[dict[str, Any], Path]) -> None:
    """A recorded variant 50% slower relative to bare than in the baseline is reported."""
    results, _ = tiny_run
    worse = copy.deepcopy(results)
    row = next(r for r in worse["groups"]["flat"] if r["name"] == report.BATCHED)
    row["ratio"] *= 1.5
    [found] = report.regressions(worse, results)
    assert found.startswith(f"flat: {report.BATCHED} / bare")


def test_small_drift_is_not_a_regression(tiny_run: tuple[dict[str, Any], Path]) -> None:
    """Noise-sized changes (10% worse) stay under the 25% limit."""
    results, _ = tiny_run
    drifted = copy.deepcopy(results)
    for rows in drifted["groups"].values():
        for row in rows:
            row["ratio"] *= 1.1
    assert report.regressions(drifted, results) == []


def test_command_fails_on_regression_against_stored_baseline(
    tiny_run: tuple[dict[str, Any], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exit status is 1 when the stored baseline was clearly better, 0 when it matches."""
    results, out = tiny_run
    better = copy.deepcopy(results)
    for rows in better["groups"].values():
        for row in rows:
            row["ratio"] /= 2
    (out / "better.json").write_text(json.dumps(better))
    assert run._regression_status(results, out / "better.json") == 1
    assert run._regression_status(results, out / "t.json") == 0


def test_docs_block_is_replaced_not_appended(tmp_path: Path) -> None:
    """Updating docs twice keeps the prose and exactly one results block."""
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nprose\n")
    run.update_docs(doc, "first\n")
    run.update_docs(doc, "second\n")
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nprose\n")
    assert text.count(run.START) == 1
    assert "second" in text
    assert "first" not in text
