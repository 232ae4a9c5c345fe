"""Codebook: stable codes, retirement, canonical fingerprint, JSON form and its errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fsm_recorder.exceptions import CodebookError
from fsm_recorder.format._codebook import Codebook, new_codebook


def _book(states: list[str], events: list[str], previous: Codebook | None = None) -> Codebook:
    return new_codebook("Door", states, events, previous=previous)


def test_codes_start_at_one_in_definition_order() -> None:
    """The first codebook numbers states and events 1, 2, ... in definition order (0 = none)."""
    book = _book(["closed", "open"], ["push", "pull"])
    assert book.states == {"closed": 1, "open": 2}
    assert book.events == {"push": 1, "pull": 2}
    assert min(book.exceptions.values()) == 1
    assert book.version == 1
    assert book.previous == ""


def test_known_names_keep_codes_and_new_names_get_new_ones() -> None:
    """Evolving keeps every known name's code and gives a new name the next unused code."""
    first = _book(["closed", "open"], ["push"])
    second = _book(["locked", "open", "closed"], ["push", "kick"], previous=first)
    assert second.states == {"closed": 1, "open": 2, "locked": 3}
    assert second.events == {"push": 1, "kick": 2}
    assert second.version == 2
    assert second.previous == first.fingerprint


def test_unchanged_definition_is_the_same_codebook() -> None:
    """Re-deriving an unchanged definition returns the same version, not a new one."""
    first = _book(["closed", "open"], ["push"])
    again = _book(["closed", "open"], ["push"], previous=first)
    assert again.fingerprint == first.fingerprint
    assert again.version == 1


def test_removed_code_is_retired_and_returning_name_gets_it_back() -> None:
    """A removed name's code is never given to another name; the name itself gets it back."""
    first = _book(["closed", "open", "ajar"], ["push"])
    without = _book(["closed", "open", "broken"], ["push"], previous=first)
    assert "ajar" not in without.states
    assert without.states["broken"] == 4
    assert 3 not in without.states.values()
    later = _book(["closed", "open", "broken", "welded"], ["push"], previous=without)
    assert later.states["welded"] == 5
    back = _book(["closed", "ajar", "welded"], ["push"], previous=later)
    assert back.states == {"closed": 1, "ajar": 3, "welded": 5}


def test_fingerprint_changes_with_content() -> None:
    """Any change of names, codes or transitions changes the fingerprint."""
    base = _book(["closed", "open"], ["push"])
    assert len(base.fingerprint) == 16
    int(base.fingerprint, 16)
    other_state = _book(["closed", "opened"], ["push"])
    other_codes = Codebook(**{**base.model_dump(), "states": {"closed": 2, "open": 1}})
    other_transitions = base.model_copy(update={"transitions": [("closed", "push", "open")]})
    fingerprints = {
        base.fingerprint,
        other_state.fingerprint,
        other_codes.fingerprint,
        other_transitions.fingerprint,
    }
    assert len(fingerprints) == 4


def test_fingerprint_is_canonical_across_processes() -> None:
    """Another interpreter (other hash seed, other dict order) computes the same fingerprint."""
    code = (
        "from fsm_recorder.format._codebook import Codebook, new_codebook\n"
        "b = new_codebook('Door', ['open', 'closed'], ['push'])\n"
        "print(b.fingerprint)\n"
        "print(Codebook(**dict(reversed(list(b.model_dump().items())))).fingerprint)\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    here = new_codebook("Door", ["open", "closed"], ["push"]).fingerprint
    assert outputs == {f"{here}\n{here}\n"}


def test_json_round_trip_keeps_content_and_fingerprint() -> None:
    """A codebook read back from its JSON form equals the original, fingerprint included."""
    book = new_codebook(
        "Door",
        ["closed", "open"],
        ["push"],
        transitions=[("closed", "push", "open"), ("open", "push", "")],
        initial="closed",
        separator="",
        event_args={"push": ["force"]},
    )
    again = Codebook.from_json(book.to_json())
    assert again == book
    assert again.fingerprint == book.fingerprint
    assert again.transitions == [("closed", "push", "open"), ("open", "push", "")]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "invalid codebook JSON"),
        ('{"machine": "Door", "states": {"a": "x"}}', "states"),
        ('{"machine": "Door", "surprise": 1}', "surprise"),
        ("[]", "invalid codebook JSON"),
    ],
)
def test_invalid_json_is_a_codebook_error_naming_the_problem(text: str, fragment: str) -> None:
    """Malformed or unexpected codebook JSON raises CodebookError whose message says what."""
    with pytest.raises(CodebookError, match="invalid codebook JSON") as info:
        Codebook.from_json(text)
    assert fragment in str(info.value)


def test_evolving_another_machines_codebook_is_refused() -> None:
    """A codebook of one machine cannot be the base of another machine's codebook."""
    door = _book(["closed", "open"], ["push"])
    with pytest.raises(CodebookError, match=r"'Door'.*'Window'"):
        new_codebook("Window", ["closed"], ["push"], previous=door)


def test_names_is_the_decoders_direction() -> None:
    """`names` inverts a section: code -> name."""
    book = _book(["closed", "open"], ["push"])
    assert book.names("states") == {1: "closed", 2: "open"}
    assert book.names("exceptions")[book.exceptions["MachineError"]] == "MachineError"


def test_runtime_names_are_added_without_retiring_others() -> None:
    """Evolving with keep_removed (names found while running) keeps every existing name."""
    book = _book(["closed", "open"], ["push"])
    grown = book.evolve(exceptions=["app.PaymentDeclined"])
    assert grown.exceptions["app.PaymentDeclined"] == max(book.exceptions.values()) + 1
    assert grown.states == book.states
    assert grown.exceptions.items() >= book.exceptions.items()
    assert grown.version == book.version + 1
