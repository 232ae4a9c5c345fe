"""How a drain runs (`DrainSettings`) and what it reports (`DrainStats`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.host._settings import redis_size


@dataclass(frozen=True)
class DrainSettings:
    """How a drain runs.

    Attributes:
        archive: Archive URL (``sqlite:///...``, ``postgresql+psycopg://...``) or SQLite path.
        url: Redis URL (default: this host's server).
        prefix: Key prefix in Redis (default `config.key_prefix`).
        batch_frames: Most frames per XREADGROUP and per archive transaction.
        batch_records: Records aimed at per transaction; frames hold from one to tens of
            thousands of records, so the frame count per read follows the recent average.
        interval: Seconds between timer-triggered passes of the long-lived drain.
        max_memory: Drain as soon as Redis uses this much: ``64mb`` or a fraction of maxmemory
            (``0.5``); None means the timer alone.
        poll: Seconds between memory checks while waiting.
        claim_idle: Seconds a pending frame of another drain must sit idle before this one takes
            it over (that drain is presumed dead).
        prune_older_than: Seconds of records to keep: after a pass, at most once an hour, the
            drain prunes what is older (`fsm_recorder.store._retention`); None keeps everything.
    """

    archive: str
    url: str | None = None
    prefix: str | None = None
    batch_frames: int = 500
    batch_records: int = 100_000
    interval: float = 60.0
    max_memory: str | None = None
    poll: float = 0.1
    claim_idle: float = 30.0
    prune_older_than: float | None = None

    def __post_init__(self) -> None:
        sizes = (self.batch_frames, self.batch_records, self.interval, self.poll)
        if min(sizes) <= 0 or self.claim_idle < 0:
            raise ConfigError("batch size, interval and poll must be positive")


@dataclass
class DrainStats:
    """Running figures of one drain; `summary` is the ``--json`` output of ``drain --once``."""

    records: int = 0
    duplicates: int = 0
    frames: int = 0
    dead_letters: int = 0
    batches: int = 0
    busy_seconds: float = 0.0
    max_batch_seconds: float = 0.0
    backlog_frames: int = 0
    backlog_records: int = 0
    passes: int = 0
    pruned_sessions: int = 0
    wakeups: dict[str, int] = field(default_factory=dict)

    @property
    def records_per_second(self) -> float:
        """Records archived per second of drain work (waiting excluded)."""
        return self.records / self.busy_seconds if self.busy_seconds else 0.0

    @property
    def mean_batch_ms(self) -> float:
        """Mean wall time of a batch: read, decode, commit, acknowledge."""
        return 1000 * self.busy_seconds / self.batches if self.batches else 0.0

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict of every figure."""
        return {
            **asdict(self),
            "records_per_second": round(self.records_per_second),
            "mean_batch_ms": round(self.mean_batch_ms, 2),
            "max_batch_ms": round(1000 * self.max_batch_seconds, 2),
        }


def parse_memory(text: str, maxmemory: int) -> int:
    """Bytes for `text`: a size (``64mb``, Redis units) or a fraction of `maxmemory` (``0.5``)."""
    size = redis_size(text)
    if size is not None:
        return size
    try:
        fraction = float(text)
    except ValueError:
        fraction = -1.0
    if not 0 < fraction <= 1:
        raise ConfigError(f"--max-memory {text!r}: use a size like 64mb or a fraction like 0.5")
    if not maxmemory:
        raise ConfigError(f"--max-memory {text!r} is a fraction, but the server has no maxmemory")
    return int(fraction * maxmemory)
