"""Load sessions for readers: live from the host's Redis (and, with an archive, from there too).

The CLI, the renderer and replay all come through `load_sessions`, so "a session" means the same
thing everywhere: every record of it that is still in Redis or already archived, decoded once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from redis.exceptions import RedisError

from fsm_recorder import config
from fsm_recorder.exceptions import (
    CodebookError,
    ConfigError,
    DecodeError,
    SinkError,
)
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.host._client import redis_client
from fsm_recorder.read._archived import add_archived, list_archived
from fsm_recorder.read._decoder import SessionDecoder
from fsm_recorder.read._query import OnError, SessionFilter, raise_error
from fsm_recorder.read._session import Session


def read_frames(url: str | None = None, *, prefix: str | None = None) -> Iterator[bytes]:
    """Every frame in the host's stream, oldest first, read in pages."""
    client = redis_client(url)
    stream = config.stream_key(prefix)
    start = "-"
    try:
        while True:
            page: Any = client.xrange(stream, min=start, count=1000)
            if not page:
                return
            for _, fields in page:
                # An entry without a frame field decodes as an empty, hence invalid, frame.
                yield bytes(fields.get(config.FRAME_FIELD, b""))
            start = "(" + bytes(page[-1][0]).decode()
    except RedisError as exc:
        raise SinkError(
            f"cannot read records from {client.get_connection_kwargs().get('path') or url}: "
            f"{exc} (is the server running? `fsm-recorder server status`)"
        ) from exc
    finally:
        client.close()


def _live_frames(
    url: str | None, prefix: str | None, keys: wire.Opener, on_error: OnError
) -> list[wire.Frame]:
    frames = []
    for number, data in enumerate(read_frames(url, prefix=prefix)):
        try:
            frames.append(wire.decode_frame(data, keys))
        except DecodeError as exc:
            on_error(f"frame {number}", exc)
    return frames


def _add_live(decoder: SessionDecoder, frames: list[wire.Frame], on_error: OnError) -> None:
    for number, frame in enumerate(frames):
        # A bad record costs its session the rest of the frame, never the other sessions.
        failed: set[int] = set()
        for record in frame.records:
            if record.session in failed:
                continue
            try:
                decoder.add_record(frame, record)
            except (DecodeError, CodebookError) as exc:
                failed.add(record.session)
                on_error(f"frame {number}", exc)


def load_sessions(
    url: str | None = None,
    *,
    archive: str | None = None,
    codebooks: CodebookStore | None = None,
    prefix: str | None = None,
    on_error: OnError = raise_error,
    where: SessionFilter | None = None,
    start: int | None = None,
    end: int | None = None,
    keys: wire.Opener | None = None,
) -> list[Session]:
    """Decode every session held live in Redis (and in `archive`, when given).

    Archived records go into the decoder first: they are the older part of a session that is
    partly drained, and the decoder drops the records it sees twice. `where`, `start` and `end`
    narrow what is read from the archive (its sessions and their steps' times); they keep the
    archive's millions of records out of memory when only a few sessions are wanted.

    A frame that cannot be decoded goes to `on_error(where, error)`; the default raises, the CLI
    reports and carries on so that one bad frame never hides the others. Encrypted frames are
    opened with `keys` (default `SessionDecoder`'s).
    """
    decoder = SessionDecoder(codebooks, keys)
    live = _live_frames(url, prefix, decoder.keys, on_error)
    if archive is not None:
        add_archived(decoder, archive, on_error=on_error, where=where, start=start, end=end)
    _add_live(decoder, live, on_error)
    return decoder.sessions()


def list_sessions(
    url: str | None = None,
    *,
    archive: str | None = None,
    codebooks: CodebookStore | None = None,
    prefix: str | None = None,
    on_error: OnError = raise_error,
    where: SessionFilter | None = None,
    keys: wire.Opener | None = None,
) -> list[dict[str, Any]]:
    """Summaries (`Session.summary`) of the sessions matching `where`, live and archived.

    Sessions with records in Redis are decoded whole (their archived part included); sessions
    only in the archive come from its ``sessions`` table without reading a single record.
    """
    where = where or SessionFilter()
    decoder = SessionDecoder(codebooks, keys)
    live = _live_frames(url, prefix, decoder.keys, on_error)
    seen = frozenset((frame.producer, number) for frame in live for number in frame.sessions)
    archived: list[dict[str, Any]] = []
    if archive is not None:
        add_archived(decoder, archive, on_error=on_error, where=SessionFilter(keys=seen))
        archived = [s for s in list_archived(archive, where) if _key_of(s) not in seen]
    _add_live(decoder, live, on_error)
    found = [s.summary() for s in decoder.sessions() if where.matches(s)] + archived
    return sorted(found, key=lambda s: (s["started"] or 0, s["key"]))


def _key_of(summary: dict[str, Any]) -> tuple[str, int]:
    return (summary["producer"], int(summary["key"].rsplit(":", 1)[1]))


def find_session(sessions: list[Session], key: str) -> Session:
    """The session whose ID or key (`producer:number`) is `key`; the newest if IDs repeat."""
    matches = [s for s in sessions if key in (s.id, s.key)]
    if not matches:
        raise ConfigError(f"no session {key!r} found: list them with `fsm-recorder sessions`")
    return matches[-1]
