"""transitions' own test suite passes against the recorded classes exactly as against the originals.

See tests/transitions_suite/__init__.py for how the classes are substituted; the suite is fetched
from PyPI (transitions' sdist of the installed version) into the pytest cache at test time.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from transitions_suite import runner
from transitions_suite.expected import EXPECTED

MODES = ("sync", "batched")
# Modules whose tests build the substituted classes: each must have produced records.
RECORDING_MODULES = (
    "test_core.py",
    "test_nesting.py",
    "test_parallel.py",
    "test_async.py",
    "test_enum.py",
    "test_add_remove.py",
    "test_reuse.py",
    "test_states.py",
    "test_threading.py",
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def suite(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """transitions' test suite of the installed version (skips only when PyPI is unreachable)."""
    cache_plugin = getattr(request.config, "cache", None)
    cache = (
        cache_plugin.mkdir("transitions-suite") if cache_plugin else tmp_path_factory.mktemp("c")
    )
    try:
        return runner.suite_dir(cache, tmp_path_factory.mktemp("suite"))
    except runner.PypiUnreachableError as err:
        pytest.skip(f"cannot fetch transitions' sdist: {err}")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the runs put their outcomes, summaries and logs."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def runs(suite: Path, workdir: Path) -> dict[str, runner.Run]:
    """The original run and one recorded run per recorder mode, run side by side."""
    found = runner.run_all(suite, workdir, [runner.ORIGINAL, *MODES])
    for run in found.values():
        print(f"{run.name}: {dict(run.counts())} in {run.seconds:.1f} s; {run.summary or ''}")
    return found


def test_original_run_is_the_whole_suite(runs: dict[str, runner.Run]) -> None:
    """The baseline really ran transitions' suite: over a thousand passed tests, all modules."""
    original = runs[runner.ORIGINAL]
    assert original.counts()["passed"] > 1000
    modules = {test_id.split("::")[0] for test_id in original.outcomes}
    assert {f"tests/{name}" for name in RECORDING_MODULES} <= modules


@pytest.mark.parametrize("mode", MODES)
def test_recorded_run_has_the_original_outcomes(
    runs: dict[str, runner.Run], suite: Path, workdir: Path, mode: str
) -> None:
    """Every test ends as it does against the originals, except the listed, explained artifacts."""
    original, recorded = runs[runner.ORIGINAL], runs[mode]
    found = runner.differences(original, recorded)
    unlisted = {k: v for k, v in found.items() if k not in EXPECTED}
    unexplained = runner.confirmed(suite, workdir, mode, unlisted)
    print(f"{mode}: flaky, not reproduced: {sorted(set(unlisted) - set(unexplained))}")
    assert unexplained == {}, f"see {original.log} and {recorded.log}"
    listed = sorted(k for k in found if k in EXPECTED)
    assert listed == sorted(EXPECTED), "an expected difference vanished: update expected.py"
    wrong = {
        k: recorded.outcomes.get(k)
        for k, e in EXPECTED.items()
        if recorded.outcome(k) != e.outcome or not re.search(e.message, _message(recorded, k))
    }
    assert wrong == {}, "these differ otherwise than expected.py says"


def _message(run: runner.Run, test_id: str) -> str:
    return run.outcomes.get(test_id, {}).get("message", "")


@pytest.mark.parametrize("mode", MODES)
def test_recorded_run_recorded_without_loss(runs: dict[str, runner.Run], mode: str) -> None:
    """The recorded run recorded thousands of records, all written, decodable, no error or gap."""
    summary = runs[mode].summary
    assert summary["produced"] > 5000
    assert summary["written"] == summary["produced"]
    assert (summary["errors"], summary["dropped"], summary["gaps"]) == ({}, {}, 0)
    assert summary["decode_error"] == ""
    assert summary["steps"] == summary["produced"]  # no record_args here: every record is a step
    by_module = summary["records_by_module"]
    assert [m for m in RECORDING_MODULES if not by_module.get(f"tests/{m}")] == []
