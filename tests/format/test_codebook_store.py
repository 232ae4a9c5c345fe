"""CodebookStore: a directory of codebooks by fingerprint, safe against tampering and leftovers."""

from __future__ import annotations

import json
import resource
import signal
from pathlib import Path

import pytest

from fsm_recorder.exceptions import CodebookError
from fsm_recorder.format._codebook import new_codebook
from fsm_recorder.format._codebook_store import CodebookStore


def test_save_then_load_in_a_fresh_store(tmp_path: Path) -> None:
    """A saved codebook is found by fingerprint by another store object on the same directory."""
    book = new_codebook("Door", ["closed", "open"], ["push"])
    fingerprint = CodebookStore(tmp_path).save(book)
    assert fingerprint == book.fingerprint
    assert (tmp_path / f"{fingerprint}.json").is_file()
    assert CodebookStore(tmp_path).load(fingerprint) == book


def test_latest_is_the_newest_version_of_that_machine(tmp_path: Path) -> None:
    """`latest` returns the highest version of the machine asked for, ignoring other machines."""
    store = CodebookStore(tmp_path)
    first = new_codebook("Door", ["closed"], ["push"])
    second = new_codebook("Door", ["closed", "open"], ["push"], previous=first)
    store.save(second)
    store.save(first)
    store.save(new_codebook("Window", ["shut"], ["slide"]))
    assert CodebookStore(tmp_path).latest("Door") == second
    assert CodebookStore(tmp_path).latest("Gate") is None
    assert [b.machine for b in CodebookStore(tmp_path).all()] == ["Door", "Door", "Window"]


def test_default_directory_comes_from_the_environment(codebook_dir: Path) -> None:
    """Without a directory the store uses FSM_RECORDER_CODEBOOKS."""
    book = new_codebook("Door", ["closed"], ["push"])
    CodebookStore().save(book)
    assert (codebook_dir / f"{book.fingerprint}.json").is_file()


def test_missing_fingerprint_says_how_to_get_the_codebook(tmp_path: Path) -> None:
    """Loading an unknown fingerprint is a CodebookError that names export/import."""
    store = CodebookStore(tmp_path)
    assert store.get("0123456789abcdef") is None
    with pytest.raises(CodebookError) as info:
        store.load("0123456789abcdef")
    message = str(info.value)
    assert "0123456789abcdef" in message
    assert "codebook export" in message
    assert "codebook import" in message


def test_tampered_file_is_refused(tmp_path: Path) -> None:
    """A file whose content does not hash to its name is a CodebookError, never used."""
    book = new_codebook("Door", ["closed", "open"], ["push"])
    fingerprint = CodebookStore(tmp_path).save(book)
    path = tmp_path / f"{fingerprint}.json"
    data = json.loads(path.read_text())
    data["states"] = {"open": 1, "closed": 2}
    path.write_text(json.dumps(data))
    with pytest.raises(CodebookError, match="does not match its fingerprint"):
        CodebookStore(tmp_path).load(fingerprint)


def test_half_written_temporary_file_does_not_break_latest(tmp_path: Path) -> None:
    """A writer's leftover temporary file (crash or concurrent save) is not read as a codebook."""
    store = CodebookStore(tmp_path)
    book = new_codebook("Door", ["closed"], ["push"])
    store.save(book)
    assert [p.name for p in tmp_path.iterdir()] == [f"{book.fingerprint}.json"]
    (tmp_path / ".tmp-half.json").write_text('{"machine": "Do')
    assert CodebookStore(tmp_path).latest("Door") == book


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """A codebook write cut short (file size limit reached) raises and leaves nothing behind."""
    book = new_codebook("Big", states=[f"s{i}" for i in range(200)], events=["go"])
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, old_limit[1]))
    try:
        with pytest.raises(OSError, match="too large"):
            CodebookStore(tmp_path).save(book)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert list(tmp_path.iterdir()) == []


def test_names_with_lone_surrogates_round_trip(tmp_path: Path) -> None:
    """Any Python string is a name: lone surrogates are stored and read back unchanged."""
    book = new_codebook("M\ud800", states=["a\udc00", "b"], events=["go\ud83d"])
    fingerprint = CodebookStore(tmp_path).save(book)
    again = CodebookStore(tmp_path).load(fingerprint)
    assert (again.machine, list(again.states), list(again.events)) == (
        "M\ud800",
        ["a\udc00", "b"],
        ["go\ud83d"],
    )
