"""The run registry: one SQLite row per nightly run in ``<out>/registry.sqlite``.

A row keeps the run id, as-of date, profile, hashes of the configuration and of all inputs,
status (``running`` | ``success`` | ``failed``), exit code, message, output directory and the key
metrics (JSON) that the next report compares against (``changes_since``).

Key metrics JSON: ``{"trades": {product: MW}, "risk": {label: [unit, value]},
"schedule": {job class: MWh}}``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from energyhedge.report.html import ChangeRow, Changes

REGISTRY_NAME = "registry.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id       TEXT PRIMARY KEY,
    as_of        TEXT NOT NULL,
    profile      TEXT NOT NULL,
    config_hash  TEXT NOT NULL,
    inputs_hash  TEXT NOT NULL,
    started_utc  TEXT NOT NULL,
    finished_utc TEXT,
    status       TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed')),
    exit_code    INTEGER,
    message      TEXT,
    output_dir   TEXT,
    metrics_json TEXT
)
"""


@dataclass(frozen=True)
class RunRecord:
    """One row of the registry."""

    run_id: str
    as_of: str
    profile: str
    config_hash: str
    inputs_hash: str
    started_utc: str
    finished_utc: str | None
    status: str
    exit_code: int | None
    message: str | None
    output_dir: str | None
    metrics: dict[str, Any] | None


class Registry:
    """Read and write the run registry of one output directory."""

    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir) / REGISTRY_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)

    def start(
        self, run_id: str, *, as_of: str, profile: str, config_hash: str, inputs_hash: str
    ) -> None:
        """Record a run that has begun (status ``running``)."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO runs (run_id, as_of, profile, config_hash, inputs_hash, started_utc,"
                " status) VALUES (?, ?, ?, ?, ?, ?, 'running')",
                (run_id, as_of, profile, config_hash, inputs_hash, _now()),
            )

    def finish(
        self,
        run_id: str,
        *,
        status: str,
        exit_code: int,
        message: str = "",
        output_dir: str | None = None,
        metrics: dict[str, Any] | None = None,
        inputs_hash: str | None = None,
    ) -> None:
        """Close a run with its final status, exit code and (on success) key metrics."""
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET finished_utc = ?, status = ?, exit_code = ?, message = ?,"
                " output_dir = ?, metrics_json = ?, inputs_hash = COALESCE(?, inputs_hash)"
                " WHERE run_id = ?",
                (
                    _now(),
                    status,
                    exit_code,
                    message,
                    output_dir,
                    None if metrics is None else json.dumps(metrics, sort_keys=True),
                    inputs_hash,
                    run_id,
                ),
            )

    def runs(self) -> list[RunRecord]:
        """All runs, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY started_utc, run_id").fetchall()
        return [_record(r) for r in rows]

    def previous_success(self, profile: str, *, before_run_id: str) -> RunRecord | None:
        """The latest successful run of ``profile`` started before ``before_run_id``."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM runs WHERE profile = ? AND status = 'success' AND run_id != ?"
                " AND started_utc <= (SELECT started_utc FROM runs WHERE run_id = ?)"
                " ORDER BY started_utc DESC, run_id DESC LIMIT 1",
                (profile, before_run_id, before_run_id),
            ).fetchone()
        return None if row is None else _record(row)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0)
        db.row_factory = sqlite3.Row
        return db


def changes_since(previous: RunRecord | None, metrics: dict[str, Any]) -> Changes | None:
    """Rows of what changed between ``previous``'s key metrics and ``metrics`` (None: first run)."""
    if previous is None or previous.metrics is None:
        return None
    before = previous.metrics

    def rows(section: str, unit: str, absent: float | None) -> tuple[ChangeRow, ...]:
        old, new = before.get(section, {}), metrics.get(section, {})
        return tuple(
            ChangeRow(name, unit, old.get(name, absent), new.get(name, absent))
            for name in sorted(old.keys() | new.keys())
        )

    old_risk, new_risk = before.get("risk", {}), metrics.get("risk", {})
    risk = tuple(
        ChangeRow(
            label,
            (new_risk.get(label) or old_risk.get(label))[0],
            old_risk[label][1] if label in old_risk else None,
            new_risk[label][1] if label in new_risk else None,
        )
        for label in [*new_risk, *(k for k in old_risk if k not in new_risk)]
    )
    return Changes(
        previous_run_id=previous.run_id,
        previous_as_of=previous.as_of,
        trades=rows("trades", "MW", 0.0),  # a product not held is 0 MW
        risk=risk,
        schedule=rows("schedule", "MWh", None),
    )


def _record(row: sqlite3.Row) -> RunRecord:
    data = dict(row)
    metrics = data.pop("metrics_json")
    return RunRecord(**data, metrics=None if metrics is None else json.loads(metrics))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
