"""The archive schema's files: an SQLite archive holds codebooks and payloads, so it is private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fsm_recorder.store._writer import ArchiveWriter


def test_sqlite_archive_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """A new SQLite archive and its WAL files are 0600, even with umask 0."""
    old = os.umask(0)
    try:
        writer = ArchiveWriter(str(tmp_path / "archive.db"))
        with writer.engine.begin() as conn:
            conn.exec_driver_sql("SELECT 1")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        writer.close()
    finally:
        os.umask(old)
    assert modes["archive.db"] == 0o600
    assert set(modes.values()) == {0o600}
