"""The price store: idempotent upsert, revisions, resolution per series, atomic writes, seeding."""

from __future__ import annotations

import polars as pl
import pytest
from data_helpers import FIXTURES, rows, utc

from energyhedge.data import store as store_module
from energyhedge.data.importers import parse_payload, read_prices
from energyhedge.data.store import PriceStore, file_provenance, open_store
from energyhedge.errors import DataError


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def test_upsert_is_idempotent_and_recorded(tmp_path):
    store = open_store(tmp_path, seed=False)
    path = FIXTURES / "ercot_rtm_np6_905.csv"
    frame = read_prices(path).frame
    first = store.upsert(frame, file_provenance(path))
    assert (first.inserted, first.updated, first.unchanged) == (8, 0, 0)
    snapshot = _files(tmp_path)
    second = store.upsert(frame, file_provenance(path))
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 8)
    assert _files(tmp_path) == snapshot
    batches = store.manifest()
    assert len(batches) == 2
    assert batches[0]["provenance"]["sha256"] == file_provenance(path)["sha256"]
    assert batches[0]["inserted"] == 8 and batches[1]["unchanged"] == 8
    assert batches[0]["time_utc"].endswith("Z")


def test_lz_and_lzew_are_separate_series(tmp_path):
    store = open_store(tmp_path, seed=False)
    store.upsert(read_prices(FIXTURES / "ercot_rtm_np6_905.csv").frame, {"kind": "test"})
    series = store.series()
    assert series.select("node", "interval_minutes", "rows").rows() == [
        ("HB_NORTH", 15, 2),
        ("LZ_HOUSTON", 15, 4),
        ("LZ_HOUSTON_EW", 15, 2),
    ]
    assert series["first_utc"][1] == utc("2023-11-05T06:00")
    assert rows(store.read("ercot", "rtm", "LZ_HOUSTON_EW")) == [
        ("LZ_HOUSTON_EW", "2023-11-05T06:00", 15, 40.01),
        ("LZ_HOUSTON_EW", "2023-11-05T07:00", 15, 50.01),
    ]


def _pjm(version: int, price: float) -> pl.DataFrame:
    page = (
        '{"items": [{"datetime_beginning_utc": "2024-07-01T16:00:00", "pnode_name": "WESTERN HUB",'
        f' "total_lmp_da": {price}, "row_is_current": true, "version_nbr": {version}}}]}}'
    )
    return parse_payload(page.encode(), f"da v{version}")


def test_newer_revision_replaces_older_and_older_is_ignored(tmp_path):
    store = open_store(tmp_path, seed=False)
    store.upsert(_pjm(1, 40.0), {"kind": "test"})
    replaced = store.upsert(_pjm(2, 42.5), {"kind": "test"})
    assert (replaced.revisions_replaced, replaced.updated, replaced.inserted) == (1, 0, 0)
    stale = store.upsert(_pjm(1, 40.0), {"kind": "test"})
    assert (stale.stale_ignored, stale.changed) == (1, 0)
    stored = store.read("pjm", "dam", "WESTERN HUB")
    assert stored.select("price_usd_per_mwh", "revision", "source").rows() == [(42.5, 2, "da v2")]
    assert [b["revisions_replaced"] for b in store.manifest()] == [0, 1, 0]
    assert store.manifest()[1]["series"][0]["node"] == "WESTERN HUB"


def test_corrected_price_without_revision_updates(tmp_path):
    store = open_store(tmp_path, seed=False)
    frame = read_prices(FIXTURES / "ercot_dam_np4_190.csv").frame
    store.upsert(frame, {"kind": "test"})
    corrected = frame.with_columns(
        pl.when(pl.col("interval_start_utc") == utc("2023-11-05T07:00"))
        .then(99.0)
        .otherwise(pl.col("price_usd_per_mwh"))
        .alias("price_usd_per_mwh")
    )
    result = store.upsert(corrected, {"kind": "test"})
    assert (result.updated, result.unchanged, result.inserted) == (1, 8, 0)
    read = store.read("ercot", "dam", "HB_NORTH", utc("2023-11-05T07:00"), utc("2023-11-05T08:00"))
    assert rows(read) == [("HB_NORTH", "2023-11-05T07:00", 60, 99.0)]


def test_read_window_is_end_exclusive_and_finest_resolution_by_default(tmp_path):
    store = open_store(tmp_path, seed=True)
    quarter = pl.DataFrame(
        {
            "iso": "ercot",
            "market": "rtm",
            "node": "LZ_HOUSTON",
            "interval_start_utc": [utc("2023-08-18T00:00"), utc("2023-08-18T00:15")],
            "interval_minutes": 15,
            "price_usd_per_mwh": [1.0, 2.0],
        }
    )
    store.upsert(quarter, {"kind": "test"})
    assert store.read("ercot", "rtm", "LZ_HOUSTON")["interval_minutes"].to_list() == [15, 15]
    hourly = store.read(
        "ercot", "rtm", "LZ_HOUSTON", utc("2023-08-18T00:00"), utc("2023-08-18T03:00"),
        interval_minutes=60,
    )  # fmt: skip
    assert hourly["interval_start_utc"].to_list() == [
        utc("2023-08-18T00:00"), utc("2023-08-18T01:00"), utc("2023-08-18T02:00"),
    ]  # fmt: skip
    assert store.read("ercot", "rtm", "NO_SUCH_NODE").is_empty()


def test_batch_with_duplicate_keys_is_rejected(tmp_path):
    store = open_store(tmp_path, seed=False)
    frame = read_prices(FIXTURES / "ercot_dam_np4_190.csv").frame
    with pytest.raises(DataError, match="same key twice"):
        store.upsert(pl.concat([frame, frame]), {"kind": "test"})
    assert store.is_empty() and store.manifest() == []


def test_failed_write_leaves_every_series_untouched(tmp_path, monkeypatch):
    store = open_store(tmp_path, seed=False)
    store.upsert(read_prices(FIXTURES / "ercot_rtm_np6_905.csv").frame, {"kind": "test"})
    before = _files(tmp_path)
    calls = {"n": 0}
    real = pl.DataFrame.write_parquet

    def failing(self, path, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(self, path, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", failing)
    changed = read_prices(FIXTURES / "ercot_rtm_np6_905.csv").frame.with_columns(
        pl.col("price_usd_per_mwh") + 1
    )
    with pytest.raises(DataError, match=r"cannot write the store \(disk full\); nothing was"):
        store.upsert(changed, {"kind": "test"})
    assert _files(tmp_path) == before
    assert not list(tmp_path.rglob("*.tmp"))
    assert len(store.manifest()) == 1


def test_open_store_seeds_from_the_shipped_file_once(tmp_path, monkeypatch):
    monkeypatch.setenv("ENERGYHEDGE_STORE", str(tmp_path / "env-store"))
    store = open_store()
    assert store.root == tmp_path / "env-store"
    series = store.series()
    assert series.height == 8 and series["rows"].to_list() == [8_759] * 8
    assert set(series["interval_minutes"]) == {60}
    (batch,) = store.manifest()
    assert batch["provenance"]["kind"] == "seed" and batch["inserted"] == 70_072
    assert any("standard-time repeat" in f for f in batch["provenance"]["findings"])
    open_store()
    assert len(store.manifest()) == 1
    assert PriceStore(tmp_path / "empty").is_empty()
    assert open_store(tmp_path / "empty", seed=False).is_empty()


def test_default_root_is_inside_the_repo_without_env(monkeypatch):
    monkeypatch.delenv("ENERGYHEDGE_STORE")
    assert store_module.default_root() == store_module.REPO_ROOT / "market_data" / "store"


def test_damaged_series_file_is_a_clear_error_and_other_files_stay(tmp_path):
    store = open_store(tmp_path, seed=False)
    path = FIXTURES / "ercot_rtm_np6_905.csv"
    frame = read_prices(path).frame
    store.upsert(frame, file_provenance(path))
    damaged = sorted(tmp_path.rglob("*.parquet"))[0]
    damaged.write_bytes(damaged.read_bytes()[:100])
    snapshot = _files(tmp_path)
    calls = (
        store.series,
        store.read_all,
        lambda: [store.read(*key) for key in frame.select("iso", "market", "node").unique().rows()],
        lambda: store.upsert(frame, file_provenance(path)),
    )
    for call in calls:
        with pytest.raises(DataError, match=r"damaged or unreadable.*move it aside"):
            call()
    assert _files(tmp_path) == snapshot
