"""pytest plugin loaded into every run of transitions' suite: writes each test's outcome as JSON.

A test's outcome is the worst of its phases: a failure in setup or teardown (or a module that does
not import) is "error", a failed call "failed", a skip "skipped", else "passed". Failures keep the
one-line message of the crash, so that an expected difference can be checked for its reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

_RANK = {"passed": 0, "skipped": 1, "xpassed": 2, "xfailed": 2, "failed": 3, "error": 4}
_results: dict[str, dict[str, str]] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    """--fsmr-outcomes FILE: where to write {test id: {"outcome", "message"}}."""
    parser.addoption("--fsmr-outcomes", required=True, help="JSON file for the test outcomes")


def _outcome(report: pytest.TestReport | pytest.CollectReport) -> str:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.failed:
        return "failed" if getattr(report, "when", "") == "call" else "error"
    return report.outcome


def _message(report: pytest.TestReport | pytest.CollectReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    return str(crash.message) if crash is not None else str(report.longrepr or "")


def _keep(report: pytest.TestReport | pytest.CollectReport) -> None:
    outcome = _outcome(report)
    previous = _results.get(report.nodeid, {"outcome": "passed"})
    if _RANK[outcome] >= _RANK[previous["outcome"]]:
        message = _message(report) if outcome in ("failed", "error") else ""
        _results[report.nodeid] = {"outcome": outcome, "message": message}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep the worst outcome seen for the test across setup, call and teardown."""
    _keep(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A module that fails to import counts as an error under its own id."""
    if report.failed:
        _keep(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the outcomes file."""
    path = Path(session.config.getoption("--fsmr-outcomes"))
    path.write_text(json.dumps(_results, indent=0, sort_keys=True))
