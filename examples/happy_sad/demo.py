"""The happy/sad demo, end to end: server, recording, raw bytes, decoded sessions, diagrams.

Run it with `python3 dev.py demo` (sets up a virtualenv first) or, inside one,
`python -m examples.happy_sad.demo [--out DIR]`.
"""

from __future__ import annotations

import argparse
from contextlib import suppress
from pathlib import Path

from rich.rule import Rule

from examples.happy_sad.machine import Mood
from fsm_recorder import Recorder, load_sessions
from fsm_recorder.cli._common import wide_console
from fsm_recorder.cli._read import steps_table
from fsm_recorder.exceptions import RenderError
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.host import _server as server
from fsm_recorder.read._load import read_frames
from fsm_recorder.read._session import Session
from fsm_recorder.render import (
    activity_diagram,
    sequence_diagram,
    state_diagram,
    write_diagram,
)

console = wide_console()


def start_server() -> str:
    """Start (or find) this host's private Redis-protocol server and return its URL."""
    status = server.start(server.ServerConfig.from_env())
    console.print(f"per-host server: [bold]{status.url}[/] (pid {status.pid})")
    return status.url


def record_sessions(url: str) -> list[str]:
    """Three people, three stories: recorded in batched mode, as in production."""
    with Recorder(url) as recorder:
        alice = Mood(balance=50, recorder=recorder, session_id="alice")
        alice.lose_money(amount=20)
        alice.gain_money(amount=40)
        alice.end_session()

        bob = Mood(balance=0, recorder=recorder, session_id="bob")
        bob.lose_money(amount=30)
        bob.gain_money(amount=10)  # not enough to cover the debt: the guard rejects it
        bob.gain_money(amount=40)
        for _ in range(3):
            bob.lose_money(amount=5)
            bob.gain_money(amount=5)
        bob.end_session()

        carol = Mood(balance=5, recorder=recorder, session_id="carol")
        carol.lose_money(amount=10)
        with suppress(TypeError):
            carol.gain_money(amount="a lot")  # a callback raises TypeError: recorded, re-raised
        carol.end_session()
    stats = recorder.stats()  # after close(): everything is flushed
    console.print(f"recorded {stats.written} records, {stats.dropped} lost")
    return ["alice", "bob", "carol"]


def show_raw(url: str) -> None:
    """What an intruder with a copy of Redis sees: bytes, no names."""
    frames = list(read_frames(url))
    sample = frames[-1][:96]
    console.print(Rule("raw frame in Redis (first 96 bytes)"))
    console.print(sample.hex(" ", 4), highlight=False)
    leaked = [n for n in ("Happy", "Sad", "lose_money", "Mood") if n.encode() in b"".join(frames)]
    console.print(
        f"{len(frames)} frames, {sum(map(len, frames))} bytes; names readable: {leaked or 'none'}"
    )


def draw(session: Session, codebooks: CodebookStore, out: Path) -> str | None:
    """Activity, sequence and state diagrams of one session: .puml, and .svg when Java can.

    Returns why no images could be made (then only the .puml files are there), or None.
    """
    texts = {
        "activity": activity_diagram(session, timestamps="elapsed"),
        "sequence": sequence_diagram([session]),
        "state": state_diagram(session, codebooks.load(session.codebook)),
    }
    problem = None
    for kind, text in texts.items():
        target = out / f"{session.id}-{kind}.svg"
        try:
            written = write_diagram(text, target)
        except RenderError as exc:
            written, problem = [target.with_suffix(".puml")], str(exc)
        console.print("diagram: " + ", ".join(str(p) for p in written), markup=False)
    return problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="diagram folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    url = start_server()
    wanted = record_sessions(url)
    show_raw(url)
    codebooks = CodebookStore()
    sessions = [s for s in load_sessions(url, codebooks=codebooks) if s.id in wanted]
    problems = set()
    for session in sessions[-len(wanted) :]:
        console.print(steps_table(session))
        problems.add(draw(session, codebooks, args.out))
    for problem in problems - {None}:
        console.print(f"\nOnly .puml files were written: {problem}", markup=False)
    console.print(
        "\nThe server keeps running: try `fsm-recorder sessions`, `fsm-recorder show bob`, "
        "`fsm-recorder server status`; stop it with `fsm-recorder server stop`."
    )


if __name__ == "__main__":
    main()
