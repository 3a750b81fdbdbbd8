"""The local price store: one Parquet file per series, atomic writes, a manifest of every batch.

Layout under the root (default ``$ENERGYHEDGE_STORE`` or ``<repo>/market_data/store``)::

    prices/<iso>/<market>/<node, %-quoted>__<minutes>min.parquet   canonical rows, sorted by time
    manifest.jsonl                                                  one JSON object per batch
    .lock                                                           writers take it exclusively

A series is (iso, market, node, interval_minutes): hourly and 15-minute prices of one node are
kept apart, so neither overwrites the other. Rows are keyed by ``interval_start_utc`` within a
series. An upsert writes every changed series to a temporary file first and then renames them
into place, so a reader sees either the old or the new file, never a half-written one.

Upsert rules per key: a row not yet stored is *inserted*; a stored row with the same price and
revision is *unchanged*; an incoming row with a higher revision *replaces* the stored one (and the
manifest counts it); an incoming row with a lower revision is *stale* and ignored; any other
difference (a corrected price without revision numbers) *updates* the stored row.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

import polars as pl

import energyhedge
from energyhedge.data.generic_csv import SHIPPED_ERCOT_OPTIONS
from energyhedge.data.importers import read_prices
from energyhedge.data.schema import KEY_COLUMNS, conform, empty_prices
from energyhedge.errors import DataError

REPO_ROOT = Path(energyhedge.__file__).resolve().parents[1]
SHIPPED_ERCOT_FILE = REPO_ROOT / "market_data" / "ercot" / "ercot_rtm_spp_lz_hourly_2023.csv"
STORE_ENV = "ENERGYHEDGE_STORE"


def default_root() -> Path:
    """``$ENERGYHEDGE_STORE`` if set, else ``<repo>/market_data/store``."""
    env = os.environ.get(STORE_ENV)
    return Path(env) if env else REPO_ROOT / "market_data" / "store"


def file_provenance(path: str | Path) -> dict:
    """Provenance of a file import: absolute path and SHA-256 of its bytes."""
    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"kind": "file", "path": str(path.resolve()), "sha256": digest}


@dataclass(frozen=True)
class SeriesCounts:
    """What one upsert did to one series (rows)."""

    iso: str
    market: str
    node: str
    interval_minutes: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    revisions_replaced: int = 0
    stale_ignored: int = 0


@dataclass(frozen=True)
class UpsertResult:
    """Totals of one upsert batch (rows) and the per-series breakdown."""

    inserted: int
    updated: int
    unchanged: int
    revisions_replaced: int
    stale_ignored: int
    series: tuple[SeriesCounts, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> int:
        """Rows written: inserted + updated + revisions replaced."""
        return self.inserted + self.updated + self.revisions_replaced


class PriceStore:
    """Canonical prices on disk; see the module docstring for layout and upsert rules."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.prices_dir = self.root / "prices"
        self.manifest_path = self.root / "manifest.jsonl"

    # reading -------------------------------------------------------------------------------

    def read(
        self,
        iso: str,
        market: str,
        node: str,
        start_utc: datetime | None = None,
        end_utc: datetime | None = None,
        *,
        interval_minutes: int | None = None,
    ) -> pl.DataFrame:
        """Canonical rows of one series in [start_utc, end_utc), sorted by time.

        When the node is stored at several resolutions and ``interval_minutes`` is None, the
        finest resolution is returned. An unknown series gives an empty frame.
        """
        paths = self._series_paths(iso, market, node)
        if interval_minutes is not None:
            paths = {m: p for m, p in paths.items() if m == interval_minutes}
        if not paths:
            return empty_prices()
        path = paths[min(paths)]
        frame = pl.scan_parquet(path)
        if start_utc is not None:
            frame = frame.filter(pl.col("interval_start_utc") >= _utc(start_utc))
        if end_utc is not None:
            frame = frame.filter(pl.col("interval_start_utc") < _utc(end_utc))
        with _readable(path):
            return conform(frame.collect()).sort("interval_start_utc")

    def read_all(
        self, iso: str | None = None, market: str | None = None, node: str | None = None
    ) -> pl.DataFrame:
        """Every stored row matching the optional filters, sorted by series and time."""
        paths = [
            path
            for (i, m, n, _), path in self._partitions()
            if iso in (None, i) and market in (None, m) and node in (None, n)
        ]
        if not paths:
            return empty_prices()
        with _readable(*paths):
            frame = pl.read_parquet(paths)
        return conform(frame).sort(
            "iso", "market", "node", "interval_minutes", "interval_start_utc"
        )

    def series(self) -> pl.DataFrame:
        """One row per series: iso, market, node, interval_minutes, first_utc, last_utc, rows."""
        rows = []
        for (iso, market, node, minutes), path in self._partitions():
            with _readable(path):
                stats = (
                    pl.scan_parquet(path)
                    .select(
                        pl.col("interval_start_utc").min().alias("first_utc"),
                        pl.col("interval_start_utc").max().alias("last_utc"),
                        pl.len().alias("rows"),
                    )
                    .collect()
                )
            rows.append(
                {
                    "iso": iso,
                    "market": market,
                    "node": node,
                    "interval_minutes": minutes,
                    **stats.row(0, named=True),
                }
            )
        schema = {
            "iso": pl.Utf8,
            "market": pl.Utf8,
            "node": pl.Utf8,
            "interval_minutes": pl.Int32,
            "first_utc": pl.Datetime("us", "UTC"),
            "last_utc": pl.Datetime("us", "UTC"),
            "rows": pl.Int64,
        }
        return pl.DataFrame(rows, schema=schema, orient="row").sort(
            "iso", "market", "node", "interval_minutes"
        )

    def manifest(self) -> list[dict]:
        """Every recorded batch, oldest first."""
        if not self.manifest_path.exists():
            return []
        lines = self.manifest_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def is_empty(self) -> bool:
        """True when no series is stored."""
        return not any(True for _ in self._partitions())

    # writing -------------------------------------------------------------------------------

    def upsert(self, frame: pl.DataFrame, provenance: dict) -> UpsertResult:
        """Insert or replace rows by key and record the batch in the manifest.

        ``provenance`` says where the rows came from (file path and hash, or API query); it is
        stored verbatim in the manifest and must be JSON-serialisable.
        """
        with self._locked():
            return self._upsert_locked(frame, provenance)

    def seed(self) -> UpsertResult | None:
        """Fill an empty store from the shipped ERCOT file; None when it holds data already."""
        with self._locked():
            if not self.is_empty():
                return None
            result = read_prices(SHIPPED_ERCOT_FILE, SHIPPED_ERCOT_OPTIONS)
            provenance = {
                **file_provenance(SHIPPED_ERCOT_FILE),
                "kind": "seed",
                "findings": [str(f) for f in result.quality],
            }
            return self._upsert_locked(result.frame, provenance)

    def _upsert_locked(self, frame: pl.DataFrame, provenance: dict) -> UpsertResult:
        frame = conform(frame)
        if frame.select(pl.struct(KEY_COLUMNS).is_duplicated().any()).item():
            raise DataError("upsert: the batch holds the same key twice; resolve duplicates first")
        pending: list[tuple[Path, pl.DataFrame]] = []
        counts: list[SeriesCounts] = []
        series_cols = ["iso", "market", "node", "interval_minutes"]
        for key, incoming in frame.group_by(series_cols, maintain_order=True):
            iso, market, node, minutes = key
            path = self._path(iso, market, node, minutes)
            if path.exists():
                with _readable(path):
                    stored = conform(pl.read_parquet(path))
            else:
                stored = empty_prices()
            merged, tally = _merge(stored, incoming)
            counts.append(SeriesCounts(iso, market, node, minutes, **tally))
            if tally["inserted"] + tally["updated"] + tally["revisions_replaced"]:
                pending.append((path, merged))
        _replace_all(pending)
        result = UpsertResult(
            **{
                name: sum(getattr(c, name) for c in counts)
                for name in (
                    "inserted",
                    "updated",
                    "unchanged",
                    "revisions_replaced",
                    "stale_ignored",
                )
            },
            series=tuple(counts),
        )
        self._record(provenance, result)
        return result

    def _record(self, provenance: dict, result: UpsertResult) -> None:
        entry = {
            "time_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "provenance": provenance,
            **{k: v for k, v in asdict(result).items() if k != "series"},
            "series": [asdict(c) for c in result.series],
        }
        self.root.mkdir(parents=True, exist_ok=True)
        with self.manifest_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    # layout --------------------------------------------------------------------------------

    def _path(self, iso: str, market: str, node: str, minutes: int) -> Path:
        return self.prices_dir / iso / market / f"{quote(node, safe='')}__{minutes}min.parquet"

    def _partitions(self) -> Iterator[tuple[tuple[str, str, str, int], Path]]:
        for path in sorted(self.prices_dir.glob("*/*/*__*min.parquet")):
            node, minutes = path.name[: -len("min.parquet")].rsplit("__", 1)
            yield (path.parent.parent.name, path.parent.name, unquote(node), int(minutes)), path

    def _series_paths(self, iso: str, market: str, node: str) -> dict[int, Path]:
        return {
            minutes: path
            for (i, m, n, minutes), path in self._partitions()
            if (i, m, n) == (iso, market, node)
        }

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _readable(*paths: Path) -> Iterator[None]:
    """Turn a damaged or unreadable store file into a DataError that says what to do."""
    try:
        yield
    except (pl.exceptions.ComputeError, OSError) as exc:
        names = ", ".join(str(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
        raise DataError(
            f"store file {names} is damaged or unreadable ({str(exc).splitlines()[0]}); move it "
            "aside and import or fetch that series again (manifest.jsonl lists its sources)"
        ) from None


def open_store(root: str | Path | None = None, *, seed: bool = True) -> PriceStore:
    """The store at ``root`` (default :func:`default_root`).

    When ``seed`` is True and the store holds no series, it is first filled from the shipped
    ERCOT 2023 file, so a fresh clone has prices without an import step.
    """
    store = PriceStore(root if root is not None else default_root())
    if seed and store.is_empty():
        store.seed()
    return store


def _merge(stored: pl.DataFrame, incoming: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """Stored rows of one series updated with ``incoming``; counts per upsert rule."""
    joined = incoming.join(
        stored.select("interval_start_utc", "price_usd_per_mwh", "revision"),
        on="interval_start_utc",
        how="left",
        suffix="_stored",
    ).with_columns(
        _found=pl.col("interval_start_utc").is_in(stored["interval_start_utc"].implode())
    )
    old_rev = pl.col("revision_stored")
    new_rev = pl.col("revision")
    newer = new_rev.is_not_null() & (old_rev.is_null() | (new_rev > old_rev))
    older = new_rev.is_not_null() & old_rev.is_not_null() & (new_rev < old_rev)
    same = (pl.col("price_usd_per_mwh") == pl.col("price_usd_per_mwh_stored")) & (
        new_rev.eq_missing(old_rev)
    )
    rule = (
        pl.when(~pl.col("_found"))
        .then(pl.lit("inserted"))
        .when(newer)
        .then(pl.lit("revisions_replaced"))
        .when(older)
        .then(pl.lit("stale_ignored"))
        .when(same)
        .then(pl.lit("unchanged"))
        .otherwise(pl.lit("updated"))
    )
    joined = joined.with_columns(rule.alias("_rule"))
    tally = dict.fromkeys(
        ("inserted", "updated", "unchanged", "revisions_replaced", "stale_ignored"), 0
    )
    for name, n in joined.group_by("_rule").len().rows():
        tally[name] = n
    write = joined.filter(pl.col("_rule").is_in(["inserted", "revisions_replaced", "updated"]))
    kept = stored.join(write.select("interval_start_utc"), on="interval_start_utc", how="anti")
    merged = pl.concat([kept, conform(write)]).sort("interval_start_utc")
    return merged, tally


def _replace_all(pending: list[tuple[Path, pl.DataFrame]]) -> None:
    """Write every frame to a temporary file beside its target, then rename all into place."""
    temps: list[tuple[Path, Path]] = []
    try:
        for path, frame in pending:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            frame.write_parquet(temp, statistics=True)
            temps.append((temp, path))
        for temp, path in temps:
            os.replace(temp, path)
    finally:
        for temp, _ in temps:
            temp.unlink(missing_ok=True)


def _utc(instant: datetime) -> datetime:
    """A timezone-aware UTC datetime; naive input is taken as UTC."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)
