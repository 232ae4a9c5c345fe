"""The persistent archive the drain fills: SQLite (embedded default) or PostgreSQL (a fleet).

`ArchiveWriter` commits drained batches exactly once per record; `list_archived` and
`add_archived` read them back. docs/drain.md describes the schema and the delivery guarantees.
"""

from __future__ import annotations

from fsm_recorder.archive.reader import add_archived, list_archived
from fsm_recorder.archive.schema import SCHEMA_VERSION, archive_url, migrate, open_engine
from fsm_recorder.archive.writer import ArchiveWriter, Batch, DeadLetter, WriteResult

__all__ = [
    "SCHEMA_VERSION",
    "ArchiveWriter",
    "Batch",
    "DeadLetter",
    "WriteResult",
    "add_archived",
    "archive_url",
    "list_archived",
    "migrate",
    "open_engine",
]
