"""The run registry: one SQLite row per nightly run in ``<out>/registry.sqlite``.

A row keeps the run id, as-of date, profile, hashes of the configuration and of all inputs,
status (``running`` | ``success`` | ``failed`` | ``killed``), exit code, message, output directory,
the key metrics (JSON) that the next report compares against (``changes_since``), and the host and
pid of the process that runs it. A run killed before it could record its end stays ``running``
until the next run on the same output directory starts (under the output lock): ``start`` then
marks every ``running`` row whose process is gone as ``killed``. Registries written before the
``killed`` status existed are migrated on open, in one transaction.

Key metrics JSON: ``{"trades": {product: MW}, "risk": {label: [unit, value]},
"schedule": {job class: MWh}}``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from energyhedge.lock import process_gone
from energyhedge.report.html import ChangeRow, Changes

REGISTRY_NAME = "registry.sqlite"
_HOST = socket.gethostname()
_KILLED_MESSAGE = "the process ended without recording a result (killed or crashed)"

_COLUMNS = """
    run_id       TEXT PRIMARY KEY,
    as_of        TEXT NOT NULL,
    profile      TEXT NOT NULL,
    config_hash  TEXT NOT NULL,
    inputs_hash  TEXT NOT NULL,
    started_utc  TEXT NOT NULL,
    finished_utc TEXT,
    status       TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed', 'killed')),
    exit_code    INTEGER,
    message      TEXT,
    output_dir   TEXT,
    metrics_json TEXT,
    host         TEXT,
    pid          INTEGER
"""
_SCHEMA = f"CREATE TABLE IF NOT EXISTS runs ({_COLUMNS})"
_OLD_COLUMNS = (
    "run_id, as_of, profile, config_hash, inputs_hash, started_utc, finished_utc, status, "
    "exit_code, message, output_dir, metrics_json"
)
_MIGRATE = (
    f"CREATE TABLE runs_migrated ({_COLUMNS})",
    f"INSERT INTO runs_migrated ({_OLD_COLUMNS}) SELECT {_OLD_COLUMNS} FROM runs",
    "DROP TABLE runs",
    "ALTER TABLE runs_migrated RENAME TO runs",
)


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
    host: str | None = None
    pid: int | None = None


class Registry:
    """Read and write the run registry of one output directory."""

    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir) / REGISTRY_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        db.isolation_level = None  # explicit transaction: the check and the migration are one
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(_SCHEMA)
            if "pid" not in {row["name"] for row in db.execute("PRAGMA table_info(runs)")}:
                for statement in _MIGRATE:
                    db.execute(statement)
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.close()

    def start(
        self, run_id: str, *, as_of: str, profile: str, config_hash: str, inputs_hash: str
    ) -> list[str]:
        """Record a run that has begun (status ``running``, with this process's host and pid).

        Call it under the output lock: it first marks the ``running`` rows whose process is gone
        as ``killed`` (see ``mark_killed``) and returns their run ids.
        """
        killed = self.mark_killed()
        with self._connect() as db:
            db.execute(
                "INSERT INTO runs (run_id, as_of, profile, config_hash, inputs_hash, started_utc,"
                " status, host, pid) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (run_id, as_of, profile, config_hash, inputs_hash, _now(), _HOST, os.getpid()),
            )
        return killed

    def mark_killed(self) -> list[str]:
        """Mark ``running`` rows of this host whose process no longer exists (and rows from before
        the pid was recorded) as ``killed``; return their run ids, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT run_id, host, pid FROM runs WHERE status = 'running'"
                " ORDER BY started_utc, run_id"
            ).fetchall()
            gone = [
                r["run_id"]
                for r in rows
                if r["pid"] is None or (r["host"] == _HOST and process_gone(r["pid"]))
            ]
            db.executemany(
                "UPDATE runs SET status = 'killed', finished_utc = ?, message = ?"
                " WHERE run_id = ? AND status = 'running'",
                [(_now(), _KILLED_MESSAGE, run_id) for run_id in gone],
            )
        return gone

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
