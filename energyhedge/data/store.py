"""The local price store: one Parquet file per series, one index that commits every import.

Layout under the root (default ``$ENERGYHEDGE_STORE`` or ``<repo>/market_data/store``)::

    index.json        the committed state: generation number, series -> file, retired files
    prices/<iso>/<market>/<node, %-quoted>__<minutes>min.g<generation>.parquet
                      canonical rows of one series, sorted by time; never changed once written
    manifest.jsonl    one JSON object per batch, each tagged with the generation it belongs to
    .lock             writers hold it exclusively (``flock``; released by the kernel on exit)
    .commit           present only while a commit is under way (or was cut short)

A series is (iso, market, node, interval_minutes): hourly and 15-minute prices of one node are
kept apart, so neither overwrites the other. Rows are keyed by ``interval_start_utc``.

Commits: a :meth:`PriceStore.transaction` (one whole ``data import``: every file, every series,
every manifest line) stages all changes in memory, then writes each changed series to a new file,
appends its manifest lines, and finally replaces ``index.json`` with one atomic rename. Readers
resolve the index once per call, so they see a whole commit or none of it; manifest lines of a
generation the index does not reach yet are ignored. A commit cut short (a crash, SIGKILL, a full
disk) leaves the index as it was; the next writer, or the next :func:`open_store` that finds
``.commit``, rolls it back (or finishes a commit that had already swapped the index): series
files the index does not name and ``*.parquet.<pid>.tmp`` left by older versions are deleted and
manifest lines beyond the index generation or torn at the end are dropped. A replaced series file
is kept until the next commit, so a reader still holding the previous index can finish.

Upsert rules per key: a row not yet stored is *inserted*; a stored row with the same price and
revision is *unchanged*; an incoming row with a higher revision *replaces* the stored one (and the
manifest counts it); an incoming row with a lower revision is *stale* and ignored; an incoming row
without a revision never overwrites a stored row that has one (a different price is an error); any
other difference (a corrected price without revision numbers) *updates* the stored row.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, unquote

import polars as pl

import energyhedge
from energyhedge.data.generic_csv import SHIPPED_ERCOT_OPTIONS
from energyhedge.data.importers import read_prices
from energyhedge.data.quality import series_name
from energyhedge.data.schema import (
    INTERVAL_MINUTES,
    ISOS,
    KEY_COLUMNS,
    MARKETS,
    conform,
    empty_prices,
)
from energyhedge.errors import ConfigError, DataError
from energyhedge.safe_text import name_problem, shown

REPO_ROOT = Path(energyhedge.__file__).resolve().parents[1]
SHIPPED_ERCOT_FILE = REPO_ROOT / "market_data" / "ercot" / "ercot_rtm_spp_lz_hourly_2023.csv"
STORE_ENV = "ENERGYHEDGE_STORE"
INDEX_FORMAT = 2

SeriesKey = tuple[str, str, str, int]
_FILE_NAME = re.compile(r"(.+)__(\d+)min(?:\.g(\d+))?\.parquet")
_OLD_TEMP = re.compile(r"\..+\.parquet\.\d+\.tmp")
"""Temporary copies that earlier versions left behind when killed mid-write."""
_T = TypeVar("_T")


def default_root() -> Path:
    """``$ENERGYHEDGE_STORE`` if set, else ``<repo>/market_data/store``."""
    env = os.environ.get(STORE_ENV)
    return Path(env) if env else REPO_ROOT / "market_data" / "store"


def file_provenance(path: str | Path, sha256: str | None = None) -> dict:
    """Provenance of a file import: absolute path and SHA-256 of its bytes (given or read)."""
    path = Path(path)
    digest = sha256 or hashlib.sha256(path.read_bytes()).hexdigest()
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


@dataclass(frozen=True)
class _Index:
    """One committed state: generation, series -> file (relative to the root), retired files."""

    generation: int
    files: dict[SeriesKey, str]
    retired: tuple[str, ...] = ()


class PriceStore:
    """Canonical prices on disk; see the module docstring for layout, commits and upsert rules."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.prices_dir = self.root / "prices"
        self.manifest_path = self.root / "manifest.jsonl"
        self.index_path = self.root / "index.json"
        self._marker = self.root / ".commit"
        self._cache: tuple[tuple[int, int, int], _Index] | None = None

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

        def read(index: _Index) -> pl.DataFrame:
            minutes = sorted(
                m
                for (i, k, n, m) in index.files
                if (i, k, n) == (iso, market, node) and interval_minutes in (None, m)
            )
            if not minutes:
                return empty_prices()
            path = self.root / index.files[(iso, market, node, minutes[0])]
            frame = pl.scan_parquet(path)
            if start_utc is not None:
                frame = frame.filter(pl.col("interval_start_utc") >= _utc(start_utc))
            if end_utc is not None:
                frame = frame.filter(pl.col("interval_start_utc") < _utc(end_utc))
            with _readable(path):
                return conform(frame.collect()).sort("interval_start_utc")

        return self._consistent(read)

    def read_all(
        self, iso: str | None = None, market: str | None = None, node: str | None = None
    ) -> pl.DataFrame:
        """Every stored row matching the optional filters, sorted by series and time."""

        def read(index: _Index) -> pl.DataFrame:
            paths = [
                self.root / name
                for (i, m, n, _), name in sorted(index.files.items())
                if iso in (None, i) and market in (None, m) and node in (None, n)
            ]
            if not paths:
                return empty_prices()
            with _readable(*paths):
                frame = pl.read_parquet(paths)
            return conform(frame).sort(
                "iso", "market", "node", "interval_minutes", "interval_start_utc"
            )

        return self._consistent(read)

    def series(self) -> pl.DataFrame:
        """One row per series: iso, market, node, interval_minutes, first_utc, last_utc, rows."""

        def stats(index: _Index) -> list[dict]:
            rows = []
            for (iso, market, node, minutes), name in sorted(index.files.items()):
                path = self.root / name
                with _readable(path):
                    found = (
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
                        **found.row(0, named=True),
                    }
                )
            return rows

        schema = {
            "iso": pl.Utf8,
            "market": pl.Utf8,
            "node": pl.Utf8,
            "interval_minutes": pl.Int32,
            "first_utc": pl.Datetime("us", "UTC"),
            "last_utc": pl.Datetime("us", "UTC"),
            "rows": pl.Int64,
        }
        return pl.DataFrame(self._consistent(stats), schema=schema, orient="row").sort(
            "iso", "market", "node", "interval_minutes"
        )

    def manifest(self) -> list[dict]:
        """Every committed batch, oldest first (a torn or uncommitted line is skipped)."""
        return _manifest_entries(self.manifest_path, self._index().generation)

    def is_empty(self) -> bool:
        """True when no series is stored."""
        return not self._index().files

    # writing -------------------------------------------------------------------------------

    def upsert(self, frame: pl.DataFrame, provenance: dict) -> UpsertResult:
        """Insert or replace rows by key and record the batch in the manifest, as one commit.

        ``provenance`` says where the rows came from (file path and hash, or API query); it is
        stored verbatim in the manifest and must be JSON-serialisable.
        """
        with self.transaction() as batch:
            return batch.upsert(frame, provenance)

    @contextmanager
    def transaction(self) -> Iterator[StoreBatch]:
        """Hold the store lock, stage upserts, and commit them all at once on a clean exit.

        An exception inside the block discards every staged change; nothing is written.
        """
        with self._locked(wait=True):
            self._recover_locked()
            batch = StoreBatch(self, self._index())
            yield batch
            batch.commit()

    def seed(self) -> UpsertResult | None:
        """Fill an empty store from the shipped ERCOT file; None when it holds data already."""
        with self.transaction() as batch:
            if self._index().files:
                return None
            result = read_prices(SHIPPED_ERCOT_FILE, SHIPPED_ERCOT_OPTIONS)
            provenance = {
                **file_provenance(SHIPPED_ERCOT_FILE, result.sha256),
                "kind": "seed",
                "findings": [str(f) for f in result.quality],
            }
            return batch.upsert(result.frame, provenance)

    def recover(self) -> bool:
        """Finish or roll back a commit that was cut short, if no writer is busy; True if done.

        Cheap when there is nothing to do (two ``stat`` calls and a one-byte read).
        """
        if not self._needs_recovery() or not os.access(self.root, os.W_OK):
            return False  # nothing to do, or a read-only store that readers still see whole
        with self._locked(wait=False) as got:
            if got:
                self._recover_locked()
            return got

    # layout and recovery -------------------------------------------------------------------

    def _index(self) -> _Index:
        """The committed index (cached while ``index.json`` is unchanged)."""
        try:
            info = os.stat(self.index_path)
        except FileNotFoundError:
            return self._files_index()
        except OSError as exc:
            raise _unreadable(self.index_path, exc) from None
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        try:
            doc = json.loads(self.index_path.read_bytes())
            index = _Index(
                int(doc["generation"]),
                {(i, m, n, int(k)): str(f) for i, m, n, k, f in doc["series"]},
                tuple(str(f) for f in doc.get("retired", [])),
            )
        except FileNotFoundError:
            return self._index()  # replaced between stat and read: take the new one
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _unreadable(self.index_path, exc) from None
        self._cache = (stamp, index)
        return index

    def _files_index(self) -> _Index:
        """The index rebuilt from the files, for a store without ``index.json``.

        That is a store written before the index existed (``<node>__<m>min.parquet``), or one
        whose index was moved aside: per series the file of the highest generation is taken.
        """
        files: dict[SeriesKey, str] = {}
        found: dict[SeriesKey, int] = {}
        for path in sorted(self.prices_dir.glob("*/*/*.parquet")):
            match = _FILE_NAME.fullmatch(path.name)
            if match is None:
                continue
            node, minutes, generation = match.groups()
            key = (path.parent.parent.name, path.parent.name, unquote(node), int(minutes))
            if int(generation or 0) >= found.get(key, -1):
                found[key] = int(generation or 0)
                files[key] = str(path.relative_to(self.root))
        tags = [e.get("generation", 0) for e in _manifest_entries(self.manifest_path, 1 << 62)]
        return _Index(max([0, *found.values(), *tags]), files)

    def _consistent(self, read: Callable[[_Index], _T]) -> _T:
        """``read`` on one index; retried when a commit retired its files meanwhile."""
        for _ in range(5):
            index = self._index()
            try:
                return read(index)
            except FileNotFoundError as exc:
                if self._index().generation == index.generation:
                    raise DataError(
                        f"{self.root}: a series file named in index.json is missing "
                        f"({shown(str(exc), 160)}); import or fetch that series again"
                    ) from None
        raise DataError(f"{self.root}: the store kept changing while being read; try again")

    def _needs_recovery(self) -> bool:
        if self._marker.exists():
            return True
        if not self.index_path.exists() and self.prices_dir.exists():
            return True
        return _torn_tail(self.manifest_path)

    def _recover_locked(self) -> None:
        """Roll back (or forward) an interrupted commit; the caller holds the lock."""
        if not self._needs_recovery():
            return
        if not self.index_path.exists() and self.prices_dir.exists():
            rebuilt = self._files_index()
            if rebuilt.files:
                _write_index(self.index_path, rebuilt)
        index = self._index()
        keep = {self.root / name for name in (*index.files.values(), *index.retired)}
        if self.prices_dir.exists():
            for path in sorted(self.prices_dir.rglob("*")):
                ours = _FILE_NAME.fullmatch(path.name) or _OLD_TEMP.fullmatch(path.name)
                if ours and path not in keep and path.is_file():
                    path.unlink(missing_ok=True)
        _repair_manifest(self.manifest_path, index.generation)
        for path in (self.index_path, self.manifest_path):
            path.with_name(path.name + ".tmp").unlink(missing_ok=True)
        self._marker.unlink(missing_ok=True)

    def _file(self, key: SeriesKey, generation: int) -> str:
        iso, market, node, minutes = key
        return f"prices/{iso}/{market}/{quote(node, safe='')}__{minutes}min.g{generation}.parquet"

    @contextmanager
    def _locked(self, *, wait: bool) -> Iterator[bool]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DataError(
                f"{self.root}: cannot open the store for writing ({exc.strerror}); give a "
                "writable --store"
            ) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class StoreBatch:
    """Upserts staged in memory under the store lock; :meth:`commit` writes them as one."""

    def __init__(self, store: PriceStore, index: _Index) -> None:
        self._store = store
        self._index = index
        self._staged: dict[SeriesKey, pl.DataFrame] = {}
        self._entries: list[dict] = []

    def upsert(self, frame: pl.DataFrame, provenance: dict) -> UpsertResult:
        """Stage ``frame`` (see the module docstring's rules) and its manifest line."""
        frame = conform(frame)
        _check_batch(frame)
        counts: list[SeriesCounts] = []
        series_cols = ["iso", "market", "node", "interval_minutes"]
        for group, incoming in frame.group_by(series_cols, maintain_order=True):
            key = (str(group[0]), str(group[1]), str(group[2]), int(group[3]))
            stored = self._stored(key)
            merged, tally = _merge(stored, incoming, series_name(*key))
            counts.append(SeriesCounts(*key, **tally))
            if tally["inserted"] + tally["updated"] + tally["revisions_replaced"]:
                self._staged[key] = merged
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
        self._entries.append(
            {
                "time_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "provenance": provenance,
                **{k: v for k, v in asdict(result).items() if k != "series"},
                "series": [asdict(c) for c in result.series],
            }
        )
        return result

    def commit(self) -> None:
        """Write staged series and manifest lines, then swap the index (the commit point)."""
        if not self._entries:
            return
        store, old = self._store, self._index
        generation = old.generation + 1
        lines = "".join(
            json.dumps({**e, "generation": generation}, sort_keys=True, default=str) + "\n"
            for e in self._entries
        )
        files = dict(old.files)
        written: list[Path] = []
        manifest_size = store.manifest_path.stat().st_size if store.manifest_path.exists() else -1
        try:
            with store._marker.open("w") as marker:  # its presence is the signal
                marker.write(str(generation))
                marker.flush()
                os.fsync(marker.fileno())
            for key, frame in self._staged.items():
                files[key] = store._file(key, generation)
                path = store.root / files[key]
                path.parent.mkdir(parents=True, exist_ok=True)
                written.append(path)
                frame.write_parquet(path, statistics=True)
                _fsync(path)
            with store.manifest_path.open("a", encoding="utf-8") as handle:
                handle.write(lines)
                handle.flush()
                os.fsync(handle.fileno())
            retired = tuple(old.files[k] for k in self._staged if k in old.files)
            _write_index(store.index_path, _Index(generation, files, retired))
        except OSError as exc:
            for path in written:
                path.unlink(missing_ok=True)
            if manifest_size < 0:
                store.manifest_path.unlink(missing_ok=True)
            elif store.manifest_path.exists():
                os.truncate(store.manifest_path, manifest_size)
            store._marker.unlink(missing_ok=True)
            raise DataError(
                f"{store.root}: cannot write the store ({exc.strerror or exc}); nothing was "
                "imported; free disk space or fix permissions and import again"
            ) from None
        for name in old.retired:  # replaced one commit ago: no current reader needs them
            (store.root / name).unlink(missing_ok=True)
        store._marker.unlink(missing_ok=True)

    def _stored(self, key: SeriesKey) -> pl.DataFrame:
        if key in self._staged:
            return self._staged[key]
        name = self._index.files.get(key)
        if name is None:
            return empty_prices()
        path = self._store.root / name
        with _readable(path):
            return conform(pl.read_parquet(path))


def _check_batch(frame: pl.DataFrame) -> None:
    """Refuse a batch with repeated keys, unknown iso/market/resolution or unsafe node names."""
    if frame.select(pl.struct(KEY_COLUMNS).is_duplicated().any()).item():
        raise DataError("upsert: the batch holds the same key twice; resolve duplicates first")
    series = frame.select("iso", "market", "node", "interval_minutes").unique()
    for iso, market, node, minutes in series.rows():
        problem = name_problem(node)
        if iso not in ISOS or market not in MARKETS or minutes not in INTERVAL_MINUTES:
            problem = f"unknown iso/market/resolution {iso}/{market}/{minutes}"
        if problem:
            raise DataError(f"upsert: node {shown(node)}: {problem}; nothing was written")


def _manifest_entries(path: Path, generation: int) -> list[dict]:
    """Committed manifest objects: parsable lines of a generation up to ``generation``."""
    try:
        lines = path.read_bytes().decode("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise _unreadable(path, exc) from None
    return [entry for line in lines if (entry := _committed(line, generation)) is not None]


def _committed(line: str, generation: int) -> dict | None:
    """The manifest object on ``line`` if it parses and belongs to a committed generation."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    tag = entry.get("generation", 0)  # lines written before generations existed have none
    return entry if isinstance(tag, int) and tag <= generation else None


def _torn_tail(path: Path) -> bool:
    """True when ``path`` is non-empty and does not end with a newline."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() == 0:
                return False
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) != b"\n"
    except FileNotFoundError:
        return False


def _repair_manifest(path: Path, generation: int) -> None:
    """Drop torn lines and lines of generations beyond ``generation`` (atomic rewrite)."""
    if not path.exists():
        return
    lines = path.read_bytes().decode("utf-8", "replace").splitlines(keepends=True)
    good = [
        line for line in lines if line.endswith("\n") and _committed(line, generation) is not None
    ]
    if len(good) != len(lines):
        _write_durably(path, "".join(good).encode("utf-8"))


def _write_index(path: Path, index: _Index) -> None:
    doc = {
        "format": INDEX_FORMAT,
        "generation": index.generation,
        "series": [[*key, name] for key, name in sorted(index.files.items())],
        "retired": list(index.retired),
    }
    _write_durably(path, (json.dumps(doc, indent=0) + "\n").encode("utf-8"))


def _write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: temporary sibling, fsync, rename, fsync dir."""
    temp = path.with_name(path.name + ".tmp")
    with temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    with suppress(OSError):  # the rename is done; a directory sync is best effort
        _fsync(path.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unreadable(path: Path, exc: BaseException) -> DataError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return DataError(
        f"store file {path} is damaged or unreadable ({shown(reason.splitlines()[0], 100)}); "
        "move it aside and import or fetch that series again (manifest.jsonl lists its sources)"
    )


@contextmanager
def _readable(*paths: Path) -> Iterator[None]:
    """Turn a damaged or unreadable store file into a DataError that says what to do.

    A missing file propagates as FileNotFoundError, for the caller to retry on a newer index.
    """
    try:
        yield
    except FileNotFoundError:
        raise
    except (pl.exceptions.ComputeError, OSError) as exc:
        names = ", ".join(str(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
        raise DataError(
            f"store file {names} is damaged or unreadable ({str(exc).splitlines()[0]}); move it "
            "aside and import or fetch that series again (manifest.jsonl lists its sources)"
        ) from None


def open_store(root: str | Path | None = None, *, seed: bool = True) -> PriceStore:
    """The store at ``root`` (default :func:`default_root`), an interrupted commit recovered.

    When ``seed`` is True and the store holds no series, it is first filled from the shipped
    ERCOT 2023 file, so a fresh clone has prices without an import step.
    """
    store = PriceStore(root if root is not None else default_root())
    try:
        is_folder = stat.S_ISDIR(os.stat(store.root).st_mode)
    except FileNotFoundError:
        is_folder = True  # created on first write
    except OSError:
        is_folder = False
    if not is_folder:
        raise ConfigError(
            f"store {store.root}: not a folder; give a folder as --store or {STORE_ENV}"
        )
    store.recover()
    if seed and store.is_empty():
        store.seed()
    return store


def _merge(
    stored: pl.DataFrame, incoming: pl.DataFrame, name: str
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Stored rows of series ``name`` updated with ``incoming``; counts per upsert rule."""
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
    same_price = pl.col("price_usd_per_mwh") == pl.col("price_usd_per_mwh_stored")
    same = same_price & (new_rev.eq_missing(old_rev) | new_rev.is_null())
    unrevised = new_rev.is_null() & old_rev.is_not_null() & ~same_price
    clash = joined.filter(pl.col("_found") & unrevised)
    if clash.height:
        t, price, old_price, revision = clash.select(
            "interval_start_utc", "price_usd_per_mwh", "price_usd_per_mwh_stored", "revision_stored"
        ).row(0)
        raise DataError(
            f"{name} at {t:%Y-%m-%dT%H:%MZ}: a price without a revision ({price} $/MWh) would "
            f"overwrite the stored revision {revision} ({old_price} $/MWh); import the file "
            "with its version_nbr column; nothing was written"
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
    for rule_name, n in joined.group_by("_rule").len().rows():
        tally[rule_name] = n
    write = joined.filter(pl.col("_rule").is_in(["inserted", "revisions_replaced", "updated"]))
    kept = stored.join(write.select("interval_start_utc"), on="interval_start_utc", how="anti")
    merged = pl.concat([kept, conform(write)]).sort("interval_start_utc")
    return merged, tally


def _utc(instant: datetime) -> datetime:
    """A timezone-aware UTC datetime; naive input is taken as UTC."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)
