"""Fetch transitions' test suite, run it against the original and the recorded classes, compare.

The suite comes from transitions' sdist of the installed version (`pip download`, cached), or from
an extracted sdist named by ``FSM_RECORDER_TEST_TRANSITIONS_SRC``. Only ``tests/``, ``conftest.py``
and ``pytest.ini`` are copied into the run directory, so the tests import the *installed*
transitions, the one fsm-recorder's classes derive from. Every run uses transitions' own pytest.ini
(minus its ``-x``) and the same ignores; runs go in parallel subprocesses.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

SOURCE_ENV = "FSM_RECORDER_TEST_TRANSITIONS_SRC"
# Diagram backends are optional extras (and out of scope); codestyle runs flake8 on the sources.
IGNORED = ("test_codestyle.py", "test_graphviz.py", "test_pygraphviz.py", "test_mermaid.py")
ORIGINAL = "original"
_SUITE_FILES = ("tests", "conftest.py", "pytest.ini")
_PLUGIN_ROOT = Path(__file__).resolve().parent.parent
_TIMEOUT = 900


class PypiUnreachableError(RuntimeError):
    """pip could not fetch the sdist, and PyPI does not answer either."""


@dataclass(frozen=True)
class Run:
    """One run of the suite: per test id its outcome and failure message, and the recording."""

    name: str
    outcomes: dict[str, dict[str, str]]
    summary: dict[str, Any]
    seconds: float
    log: Path

    def outcome(self, test_id: str) -> str:
        """The test's outcome, or "missing" when this run did not collect it."""
        return self.outcomes.get(test_id, {}).get("outcome", "missing")

    def counts(self) -> Counter[str]:
        """How many tests ended in each outcome."""
        return Counter(result["outcome"] for result in self.outcomes.values())


# -- the suite -------------------------------------------------------------------------------------
def suite_dir(cache: Path, scratch: Path) -> Path:
    """A directory with transitions' tests: fetched once into `cache`, or a copy in `scratch`."""
    source = os.environ.get(SOURCE_ENV)
    if source:
        _copy_suite(Path(source), scratch / "suite")
        return scratch / "suite"
    version = metadata.version("transitions")
    target = cache / f"suite-{version}"
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(dir=cache, prefix=".staging-"))
        _extract_suite(_download(version, cache), staging)
        staging.replace(target)
    return target


def _download(version: str, cache: Path) -> Path:
    sdist = cache / f"transitions-{version}.tar.gz"
    if sdist.is_file():
        return sdist
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q"]
    done = subprocess.run(
        [*pip, "-d", str(cache), f"transitions=={version}"],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )
    if sdist.is_file():
        return sdist
    if not _pypi_answers():
        raise PypiUnreachableError(f"PyPI is unreachable; pip said: {done.stderr.strip()[-500:]}")
    raise RuntimeError(f"pip download of transitions=={version} failed:\n{done.stderr}")


def _pypi_answers() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


def _extract_suite(sdist: Path, dest: Path) -> None:
    with tarfile.open(sdist) as archive:
        # The safe "data" filter where this Python has it (3.12 warns without a filter).
        archive.extraction_filter = getattr(tarfile, "data_filter", None)
        root = archive.getnames()[0].split("/")[0]
        members = []
        for member in archive.getmembers():
            name = member.name.removeprefix(f"{root}/")
            if name.split("/")[0] in _SUITE_FILES:
                member.name = name
                members.append(member)
        archive.extractall(dest, members=members)


def _copy_suite(source: Path, dest: Path) -> None:
    shutil.copytree(source / "tests", dest / "tests")
    for name in _SUITE_FILES[1:]:
        shutil.copy2(source / name, dest / name)


# -- running -------------------------------------------------------------------------------------
def command(suite: Path, out: Path, mode: str, test_ids: Sequence[str] = ()) -> list[str]:
    """The pytest command of one run; `mode` is ORIGINAL or a recorder mode ("sync", "batched")."""
    cmd = [sys.executable, "-m", "pytest", "-c", str(suite / "pytest.ini"), "--rootdir", str(suite)]
    cmd += ["-o", "addopts=", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:fsm_recorder"]
    cmd += ["-p", "transitions_suite.outcomes", f"--fsmr-outcomes={out / 'outcomes.json'}"]
    if mode != ORIGINAL:
        cmd += ["-p", "transitions_suite.substitute", f"--fsmr-record={mode}"]
        cmd += [f"--fsmr-summary={out / 'summary.json'}"]
    cmd += [f"--ignore={suite / 'tests' / name}" for name in IGNORED]
    return [*cmd, *(test_ids or ["tests"])]


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PLUGIN_ROOT), env.get("PYTHONPATH")]))
    return env


def run_all(
    suite: Path, workdir: Path, modes: Sequence[str], test_ids: Sequence[str] = ()
) -> dict[str, Run]:
    """Run the suite once per mode, all at the same time; returns the runs by mode."""
    started = time.monotonic()
    running = {}
    for mode in modes:
        out = Path(tempfile.mkdtemp(dir=workdir, prefix=f"{mode}-"))
        with (out / "log.txt").open("w") as log:
            process = subprocess.Popen(
                command(suite, out, mode, test_ids),
                cwd=suite,
                env=_environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        running[mode] = (process, out)
    return {mode: _finish(mode, process, out, started) for mode, (process, out) in running.items()}


def _finish(mode: str, process: subprocess.Popen[bytes], out: Path, started: float) -> Run:
    process.wait(timeout=_TIMEOUT)
    seconds = time.monotonic() - started
    results = out / "outcomes.json"
    if not results.is_file():
        log = (out / "log.txt").read_text()
        raise RuntimeError(f"the {mode} run ended without outcomes:\n{log[-3000:]}")
    summary = out / "summary.json"
    return Run(
        name=mode,
        outcomes=json.loads(results.read_text()),
        summary=json.loads(summary.read_text()) if summary.is_file() else {},
        seconds=seconds,
        log=out / "log.txt",
    )


# -- comparing -------------------------------------------------------------------------------------
def differences(original: Run, recorded: Run) -> dict[str, tuple[str, str]]:
    """Test ids whose outcome differs: (original outcome, recorded outcome)."""
    test_ids = sorted(original.outcomes.keys() | recorded.outcomes.keys())
    pairs = {
        test_id: (original.outcome(test_id), recorded.outcome(test_id)) for test_id in test_ids
    }
    return {test_id: pair for test_id, pair in pairs.items() if pair[0] != pair[1]}


def confirmed(
    suite: Path, workdir: Path, mode: str, found: dict[str, tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    """The differences that come back when just those tests run again (both ways, in parallel).

    transitions' threading and timeout tests assert wall-clock delays within 0.1 s; on a busy
    host one of them fails now and then in either run. A difference that does not reproduce is
    such a flake, not a change of semantics.
    """
    if not found:
        return {}
    again = run_all(suite, workdir, [ORIGINAL, mode], sorted(found))
    return {k: v for k, v in differences(again[ORIGINAL], again[mode]).items() if k in found}
