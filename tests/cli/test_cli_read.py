"""`fsm-recorder sessions` and `show`: JSON for scripts, tables for people, exit codes that mean."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from recordings import add_junk_frame, record_orders

from fsm_recorder.cli import main


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_sessions_json_lists_identity_and_size(redis_url: str) -> None:
    """`sessions --json` gives id, machine, host, pid, started and steps of each session."""
    record_orders(redis_url, "o-1", "o-2", refund=False)
    code, out, _ = _run("sessions", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == ["o-1", "o-2"]
    for row in rows:
        assert row["machine"] == "Order"
        assert isinstance(row["host"], str)
        assert row["host"]
        assert isinstance(row["pid"], int)
        assert isinstance(row["started"], int)
        assert row["steps"] == 6  # start, event, transition, exit, enter, end
    code, out, _ = _run("sessions", "--json", "--machine", "Other")
    assert (code, json.loads(out)) == (0, [])


def test_show_json_lists_steps(redis_url: str) -> None:
    """`show ID --json` lists each step with seq, ts, kind, event, source, dest and state."""
    record_orders(redis_url, "o-1", refund=False)
    code, out, _ = _run("show", "o-1", "--json")
    assert code == 0
    steps = json.loads(out)
    assert [s["kind"] for s in steps] == [
        "session_start",
        "event",
        "transition",
        "exit",
        "enter",
        "session_end",
    ]
    transition = steps[2]
    assert {k: transition[k] for k in ("seq", "event", "source", "dest", "state")} == {
        "seq": 2,
        "event": "pay",
        "source": "new",
        "dest": "paid",
        "state": "new",
    }
    assert all(isinstance(s["ts"], int) for s in steps)
    assert steps[-1]["state"] == "paid"


def test_tables_mention_the_session(redis_url: str) -> None:
    """The table outputs name the session, its machine and its steps."""
    record_orders(redis_url, "o-1", refund=False)
    code, out, _ = _run("sessions")
    assert code == 0
    assert "o-1" in out
    assert "Order" in out
    code, out, _ = _run("show", "o-1")
    assert code == 0
    assert "Order session o-1" in out
    assert "transition" in out
    assert "paid" in out


def test_unknown_session_exits_1(redis_url: str) -> None:
    """`show` of a session that does not exist exits 1 with a message, not a traceback."""
    record_orders(redis_url, "o-1", refund=False)
    code, out, err = _run("show", "o-404")
    assert code == 1
    assert "no session 'o-404' found" in err
    assert "Traceback" not in out + err


def test_server_down_exits_1_naming_the_status_command(tmp_path: Path) -> None:
    """With the server down both commands exit 1 and point at `fsm-recorder server status`."""
    url = f"unix://{tmp_path}/gone.sock"
    for args in (("sessions", "--url", url), ("show", "x", "--url", url)):
        code, _, err = _run(*args)
        assert code == 1
        assert "fsm-recorder server status" in err


def test_corrupt_frame_warns_and_other_sessions_are_listed(redis_url: str) -> None:
    """One undecodable frame gives a warning on stderr; every other session is still listed."""
    record_orders(redis_url, "o-1", refund=False)
    add_junk_frame(redis_url)
    record_orders(redis_url, "o-2", refund=False)
    code, out, err = _run("sessions", "--json")
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == ["o-1", "o-2"]
    assert "warning" in err
    assert "frame 2" in err
