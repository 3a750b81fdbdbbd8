"""A whole import is one commit: crashes, write errors, torn manifests, old layouts, two writers."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import polars as pl
import pytest
from crash_import import (
    FSYNC_POINTS,
    IMPORTED,
    INDEX_RENAMED_BEFORE,
    before_and_after,
    driver,
    import_argv,
    kill_at_fsync,
    kill_at_random,
)
from data_helpers import utc

from energyhedge.cli import main
from energyhedge.data.importers import read_prices
from energyhedge.data.store import PriceStore, open_store
from energyhedge.errors import DataError


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def before_after(tmp_path_factory):
    """A seeded store (before), its state, and the state after importing ``IMPORTED``."""
    return before_and_after(tmp_path_factory.mktemp("kill"))


@pytest.mark.parametrize("kill_at", FSYNC_POINTS)
def test_sigkill_at_each_commit_step_leaves_before_or_after(kill_at, tmp_path, before_after):
    source, before, after = before_after
    seen = kill_at_fsync(source, tmp_path / "store", kill_at, before, after)
    assert seen == ("after" if kill_at >= INDEX_RENAMED_BEFORE else "before")


@pytest.mark.parametrize("trial", range(6))
def test_sigkill_at_random_times_leaves_before_or_after(trial, tmp_path, before_after):
    source, before, after = before_after
    seen, _ = kill_at_random(source, tmp_path / "store", trial, before, after)
    assert seen in ("before", "after")


def test_interrupted_commit_is_rolled_back_byte_for_byte(tmp_path, before_after):
    source, *_ = before_after
    root = tmp_path / "store"
    shutil.copytree(source, root)
    before = _hashes(root)
    stray = root / "prices" / "ercot" / "dam" / "HB_NORTH__60min.g9.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"PAR1 half written")
    (root / ".commit").write_text("9")
    with (root / "manifest.jsonl").open("a") as handle:
        handle.write(json.dumps({"generation": 9, "inserted": 1}) + "\n" + '{"generati')
    assert PriceStore(root).manifest() == open_store(source, seed=False).manifest()
    open_store(root)
    assert _hashes(root) == before


def test_write_error_in_a_later_file_leaves_the_store_unchanged(tmp_path, capsys, monkeypatch):
    root = tmp_path / "store"
    open_store(root)
    before = _hashes(root)
    real, calls = pl.DataFrame.write_parquet, [0]

    def failing(self, path, **kwargs):
        calls[0] += 1
        if calls[0] == 3:
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(path))
        return real(self, path, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", failing)
    assert main(import_argv(root)) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{root}: cannot write the store (File name too long); nothing was imported" in err
    assert _hashes(root) == before


def test_one_import_is_one_generation(tmp_path, capsys):
    root = tmp_path / "store"
    open_store(root)
    assert main(import_argv(root)) == 0
    batches = PriceStore(root).manifest()
    assert [b["generation"] for b in batches] == [1, 2, 2, 2]
    assert [Path(b["provenance"]["path"]).name for b in batches[1:]] == [p.name for p in IMPORTED]
    assert json.loads((root / "index.json").read_text())["generation"] == 2


def test_a_replaced_file_outlives_one_commit_for_slow_readers(tmp_path):
    store = open_store(tmp_path, seed=False)
    frame = read_prices(IMPORTED[0]).frame
    store.upsert(frame, {"kind": "test"})
    first = sorted((tmp_path / "prices").rglob("*.parquet"))
    store.upsert(frame.with_columns(pl.col("price_usd_per_mwh") + 1), {"kind": "test"})
    assert all(p.exists() for p in first)  # still readable through the previous index
    store.upsert(frame.with_columns(pl.col("price_usd_per_mwh") + 2), {"kind": "test"})
    assert not any(p.exists() for p in first)
    stored = store.read("ercot", "dam", "HB_NORTH")["price_usd_per_mwh"].to_list()
    assert stored == [p + 2 for p in frame.filter(node="HB_NORTH")["price_usd_per_mwh"]]


def test_torn_manifest_line_is_skipped_then_repaired(tmp_path, capsys):
    root = tmp_path / "store"
    open_store(root)
    manifest = root / "manifest.jsonl"
    with manifest.open("a") as handle:
        handle.write('{"time_utc": "2026-')
    assert len(PriceStore(root).manifest()) == 1
    assert main(["data", "quality", "--store", str(root)]) == 0
    assert "standard-time repeat" in capsys.readouterr().out
    assert manifest.read_bytes().endswith(b"\n")  # repaired by the command's store open
    assert main(import_argv(root, IMPORTED[:1])) == 0
    lines = manifest.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)


def _legacy_store(root: Path, node: str = "HB_NORTH") -> None:
    """A store as written before index.json: fixed file names, stray temporary copies."""
    frame = read_prices(IMPORTED[0]).frame.filter(pl.col("node") == "HB_NORTH")
    folder = root / "prices" / "ercot" / "dam"
    folder.mkdir(parents=True)
    name = node.replace("=", "%3D")
    frame.with_columns(node=pl.lit(node)).write_parquet(folder / f"{name}__60min.parquet")
    for pid in (4242, 4243):
        (folder / f".{name}__60min.parquet.{pid}.tmp").write_bytes(b"half")
    (root / "manifest.jsonl").write_text(json.dumps({"provenance": {"kind": "old"}}) + "\n")


def test_legacy_store_is_indexed_and_stray_temporaries_swept(tmp_path):
    root = tmp_path / "store"
    _legacy_store(root)
    assert PriceStore(root).read("ercot", "dam", "HB_NORTH").height == 9  # readable as is
    (root / "prices" / "notes.txt").write_text("mine")
    store = open_store(root)
    assert not list(root.rglob("*.tmp"))
    assert (root / "prices" / "notes.txt").read_text() == "mine"  # not ours: kept
    assert store.read("ercot", "dam", "HB_NORTH")["interval_start_utc"][0] == utc(
        "2023-11-05T05:00"
    )
    assert [b["provenance"]["kind"] for b in store.manifest()] == ["old"]
    assert json.loads((root / "index.json").read_text())["generation"] == 0


def test_export_neutralises_formula_names_and_checks_out(tmp_path, capsys):
    root = tmp_path / "store"
    _legacy_store(root, node="=HB")
    out = tmp_path / "x.csv"
    base = ["data", "export", "--store", str(root), "--iso", "ercot", "--market", "dam",
            "--node", "=HB", "--start", "2023-11-04", "--end", "2023-11-05"]  # fmt: skip
    assert main([*base, "--out", str(out)]) == 0
    assert out.read_text().splitlines()[1].startswith("ercot,dam,'=HB,2023-11-05T05:00:00Z,60,")
    for bad, message in (
        (tmp_path, "is a folder; give a CSV file path inside it"),
        (tmp_path / "missing" / "x.csv", "does not exist; create the folder first"),
        (out / "x.csv", "is not a folder; create the folder first"),
    ):
        capsys.readouterr()
        assert main([*base, "--out", str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err


def test_two_imports_at_once_are_serialised(tmp_path, before_after):
    source, before, _ = before_after
    root = tmp_path / "store"
    shutil.copytree(source, root)
    first = driver(root, pause=0.02, paths=IMPORTED[:2])
    second = driver(root, pause=0.02, paths=IMPORTED[2:])
    for proc in (first, second):
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    batches = PriceStore(root).manifest()
    generations = [b["generation"] for b in batches[before[1] :]]
    assert sorted(generations) in ([2, 2, 3], [2, 3, 3])  # two whole commits, one after the other
    assert {g: generations.count(g) for g in generations} in ({2: 2, 3: 1}, {2: 1, 3: 2})
    assert PriceStore(root).read_all().height == before[0].height + 9 + 8 + 6


def test_an_import_waits_for_the_store_lock(tmp_path, before_after):
    source, *_ = before_after
    root = tmp_path / "store"
    shutil.copytree(source, root)
    before = _hashes(root)
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        proc = driver(root, paths=IMPORTED[:1])
        time.sleep(1.5)
        assert proc.poll() is None and _hashes(root) == before
        fcntl.flock(handle, fcntl.LOCK_UN)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert b"9 rows: 9 inserted" in out


def test_a_reader_on_a_retired_index_retries_on_the_current_one(tmp_path, monkeypatch):
    store = open_store(tmp_path, seed=False)
    frame = read_prices(IMPORTED[0]).frame
    store.upsert(frame, {"kind": "test"})
    stale = store._index()
    for step in (1, 2):
        store.upsert(frame.with_columns(pl.col("price_usd_per_mwh") + step), {"kind": "test"})
    current = store._index()
    answers = iter([stale, current, current])
    monkeypatch.setattr(store, "_index", lambda: next(answers))
    stored = store.read("ercot", "dam", "HB_NORTH")["price_usd_per_mwh"].to_list()
    assert stored == [p + 2 for p in frame.filter(node="HB_NORTH")["price_usd_per_mwh"]]


def test_a_missing_series_file_is_a_clear_error(tmp_path):
    store = open_store(tmp_path, seed=False)
    store.upsert(read_prices(IMPORTED[0]).frame, {"kind": "test"})
    next((tmp_path / "prices").rglob("*.parquet")).unlink()
    with pytest.raises(DataError, match=r"a series file named in index.json is missing \("):
        store.read_all()


@pytest.mark.parametrize("command", ["list", "import"])
def test_a_store_path_that_is_a_file_is_a_configuration_error(command, tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("x")
    for store in (path, path / "sub"):
        extra = [str(IMPORTED[0])] if command == "import" else []
        assert main(["data", command, "--store", str(store), *extra]) == 2
        err = capsys.readouterr().err
        assert (
            err == f"energyhedge: error: store {store}: not a folder; give a folder as "
            "--store or ENERGYHEDGE_STORE\n"
        )
    assert path.read_text() == "x"


def test_a_damaged_index_is_a_one_line_error_and_moving_it_aside_rebuilds_it(tmp_path, capsys):
    root = tmp_path / "store"
    open_store(root)
    assert main(import_argv(root)) == 0
    assert main(import_argv(root, [IMPORTED[0]])) == 0  # a commit that writes no file
    expected = PriceStore(root).read_all(), PriceStore(root).manifest()
    (root / "index.json").write_text('{"generation": "x"')
    capsys.readouterr()
    assert main(["data", "list", "--store", str(root)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"store file {root / 'index.json'} is damaged" in err
    (root / "index.json").rename(root / "index.json.damaged")
    store = open_store(root)
    assert store.read_all().equals(expected[0]) and store.manifest() == expected[1]
    assert json.loads((root / "index.json").read_text())["generation"] == 3
