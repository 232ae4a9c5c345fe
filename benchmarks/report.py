"""Targets, tables and the regression check over a results dict (the JSON the suite writes)."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

# A regression is a ratio that got this much worse than the baseline's (noise stays well below).
TOLERANCE = 1.25
BATCHED = "fsm-recorder batched"
SYNC = "fsm-recorder sync"
DEBUG = "transitions DEBUG log"
SQLITE = "SQLite INSERT+COMMIT"
XADD = "redis-py XADD per transition"


@dataclass(frozen=True)
class Target:
    """One promise of docs/benchmarks.md, checked against a run."""

    name: str
    goal: str
    measure: Callable[[dict[str, Any]], float | None]
    met: Callable[[float], bool]


def _row(results: dict[str, Any], group: str, name: str) -> dict[str, Any] | None:
    rows = results.get("groups", {}).get(group, [])
    return next((r for r in rows if r["name"] == name), None)


def _added(results: dict[str, Any], group: str, name: str) -> float | None:
    row, ref = _row(results, group, name), _row(results, group, "bare")
    return None if row is None or ref is None else row["ns"] - ref["ns"]


def _ratio(results: dict[str, Any], group: str, name: str) -> float | None:
    row = _row(results, group, name)
    return None if row is None else float(row["ratio"])


def _cheaper(results: dict[str, Any], other: str) -> float | None:
    theirs, ours = _added(results, "flat", other), _added(results, "flat", BATCHED)
    if theirs is None or ours is None:
        return None
    return theirs / ours if ours > 0 else float("inf")


def _sync_vs_xadd(results: dict[str, Any]) -> float | None:
    sync, xadd = _row(results, "flat", SYNC), _row(results, "flat", XADD)
    return None if sync is None or xadd is None else sync["ns"] / xadd["ns"]


def _one_process(results: dict[str, Any]) -> float | None:
    one = results.get("throughput", {}).get("one")
    return None if not one else one["records_per_s"] if one["no_loss"] else 0.0


def _bytes(results: dict[str, Any]) -> float | None:
    size = results.get("bytes")
    return None if not size else float(size["redis_memory_per_transition"])


TARGETS = [
    Target(
        "flat: batched adds per transition",
        "<= 1000 ns",
        lambda r: _added(r, "flat", BATCHED),
        lambda v: v <= 1000,
    ),
    Target(
        "flat: batched / bare", "<= 1.20", lambda r: _ratio(r, "flat", BATCHED), lambda v: v <= 1.2
    ),
    Target(
        "nested: batched / bare",
        "<= 1.03",
        lambda r: _ratio(r, "nested", BATCHED),
        lambda v: v <= 1.03,
    ),
    Target(
        "DEBUG log added / batched added", ">= 10", lambda r: _cheaper(r, DEBUG), lambda v: v >= 10
    ),
    Target(
        "SQLite commit added / batched added",
        ">= 100",
        lambda r: _cheaper(r, SQLITE),
        lambda v: v >= 100,
    ),
    Target("bytes per transition in Redis (MEMORY USAGE)", "<= 16", _bytes, lambda v: v <= 16),
    Target("records/s, one process, no loss", ">= 300000", _one_process, lambda v: v >= 300_000),
    Target("sync / raw XADD round trip", "<= 1.30", _sync_vs_xadd, lambda v: v <= 1.3),
]


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with its measured value and verdict (None: not measured in this run)."""
    out = []
    for target in TARGETS:
        value = target.measure(results)
        met = None if value is None else target.met(value)
        out.append({"name": target.name, "goal": target.goal, "value": value, "met": met})
    return out


def regression_metrics(results: dict[str, Any]) -> dict[str, float]:
    """The lower-is-better ratios a regression check compares (machine-independent)."""
    metrics: dict[str, float] = {}
    for group, rows in results.get("groups", {}).items():
        for row in rows:
            if row["name"].startswith("fsm-recorder"):
                metrics[f"{group}: {row['name']} / bare"] = float(row["ratio"])
    sync = _sync_vs_xadd(results)
    if sync is not None:
        metrics["flat: sync / raw XADD"] = sync
    size = _bytes(results)
    if size is not None:
        metrics["bytes per transition in Redis"] = size
    return metrics


def regressions(
    current: dict[str, Any], baseline: dict[str, Any], tolerance: float = TOLERANCE
) -> list[str]:
    """Metrics more than `tolerance` times worse than the baseline's; metrics absent in either
    run (a quick run skips some) are not compared."""
    now, then = regression_metrics(current), regression_metrics(baseline)
    return [
        f"{name}: {now[name]:.3f} vs baseline {then[name]:.3f} (limit x{tolerance})"
        for name in sorted(now.keys() & then.keys())
        if now[name] > then[name] * tolerance
    ]


def machine_info(server_version: str) -> dict[str, Any]:
    """CPU model, cores and versions: the context every number depends on."""
    versions = {p: _version(p) for p in ("transitions", "redis", "hiredis", "fsm-recorder")}
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "server": server_version,
        **versions,
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# -- Markdown ------------------------------------------------------------------------------------
def markdown(results: dict[str, Any]) -> str:
    """The run as Markdown tables (printed, and put into docs/benchmarks.md by a full run)."""
    parts = [_context(results)]
    for group, rows in results["groups"].items():
        parts.append(_group_table(group, rows))
    parts.append(_targets_table(results["targets"]))
    parts.append(_volume_table(results))
    return "\n\n".join(parts) + "\n"


def _context(results: dict[str, Any]) -> str:
    m, s = results["machine"], results["settings"]
    return (
        f"Run `{results['name']}` ({results['mode']}, {s['rounds']} interleaved rounds of "
        f"{s['transitions']} transitions after {s['warmup']} warm-up rounds) on {m['cpu']}, "
        f"{m['cores']} cores; {m['implementation']} {m['python']}, transitions {m['transitions']}, "
        f"redis-py {m['redis']}, hiredis {m['hiredis']}, server {m['server']}."
    )


def _group_table(group: str, rows: list[dict[str, Any]]) -> str:
    ref = rows[0]["ns"]
    lines = [
        f"**{group}** | ns/transition, median (min-max) | x bare, median (min-max) | added ns",
        "---|---:|---:|---:",
    ]
    for r in rows:
        lines.append(
            f"{r['name']} | {r['ns']:,.0f} ({r['ns_min']:,.0f}-{r['ns_max']:,.0f}) | "
            f"{r['ratio']:.3f} ({r['ratio_min']:.2f}-{r['ratio_max']:.2f}) | {r['ns'] - ref:,.0f}"
        )
    return "\n".join(lines)


def _targets_table(targets: list[dict[str, Any]]) -> str:
    lines = ["target | measured | goal | verdict", "---|---:|---|---"]
    for t in targets:
        value = "-" if t["value"] is None else f"{t['value']:,.3g}"
        verdict = {None: "not measured", True: "met", False: "MISSED"}[t["met"]]
        lines.append(f"{t['name']} | {value} | {t['goal']} | {verdict}")
    return "\n".join(lines)


def _volume_table(results: dict[str, Any]) -> str:
    lines = ["measure | value", "---|---"]
    size = results.get("bytes")
    if size:
        lines += [
            f"Redis frame payload per transition | {size['payload_per_transition']:.2f} B",
            f"Redis MEMORY USAGE per transition | {size['redis_memory_per_transition']:.2f} B",
            f"DEBUG log text per transition | {size['debug_log_per_transition']:.0f} B",
        ]
    for key, t in results.get("throughput", {}).items():
        lines.append(
            f"records/s, {t['processes']} process(es) ({key}) | {t['records_per_s']:,.0f}"
            f" ({t['records']:,} records, no loss: {t['no_loss']})"
        )
    for archive, row in results.get("drain", {}).items():
        done = (
            f", {row['records']:,} records, exactly once: {row['complete']}"
            if "records" in row
            else ""
        )
        lines.append(f"drain into {archive} | {_rate(row, 'records_per_s', 'records/s')}{done}")
    for steps, row in results.get("render", {}).items():
        lines.append(f"PlantUML activity text, {steps} steps | {_rate(row, 'seconds', 's')}")
    return "\n".join(lines)


def _rate(row: dict[str, Any], key: str, unit: str) -> str:
    if key not in row:
        return f"{row.get('status', 'not measured')} ({row.get('why', 'skipped')})"
    return f"{row[key]:,.3g} {unit}"
