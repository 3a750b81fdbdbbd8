"""SIGKILL trials of ``energyhedge data import``: the store must read as before or after, whole.

Used by ``test_data_store_commit.py`` (a bounded number of trials in CI) and runnable for many
more: ``python3 tests/crash_import.py --trials 200`` prints how many kills left the old state,
how many the new one, and fails on the first torn or mixed store.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from energyhedge.cli import main  # noqa: E402
from energyhedge.data.store import PriceStore, open_store  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "data"
IMPORTED = [
    FIXTURES / "ercot_dam_np4_190.csv",
    FIXTURES / "ercot_rtm_np6_905.csv",
    FIXTURES / "pjm_rt_hrl_lmps.csv",
]
FSYNC_POINTS = range(1, 10)
"""fsync calls of one commit of IMPORTED: marker, 5 series files, manifest, index, its folder."""
INDEX_RENAMED_BEFORE = 9
"""A kill at this fsync or later finds the index already swapped: the import is committed."""
# Runs the CLI and SIGKILLs itself just before the n-th fsync (0: never), or sleeps after every
# fsync so that a kill from outside lands inside the commit more often.
DRIVER = """
import os, signal, sys, time
kill_at, pause = int(sys.argv[1]), float(sys.argv[2])
real, calls = os.fsync, [0]
def fsync(fd):
    calls[0] += 1
    if calls[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    real(fd)
    time.sleep(pause)
os.fsync = fsync
from energyhedge.cli import main
sys.exit(main(sys.argv[3:]))
"""

State = tuple[pl.DataFrame, int]


def import_argv(root: Path, paths=IMPORTED) -> list[str]:
    """``data import`` of ``paths`` into ``root``."""
    return ["data", "import", "--store", str(root), *map(str, paths)]


def driver(root: Path, kill_at: int = 0, pause: float = 0.0, paths=IMPORTED) -> subprocess.Popen:
    """Start the import in a child process (see ``DRIVER``)."""
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(kill_at), str(pause), *import_argv(root, paths)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def state(root: Path) -> State:
    """Every stored row and the number of committed manifest lines."""
    store = PriceStore(root)
    return store.read_all(), len(store.manifest())


def before_and_after(base: Path) -> tuple[Path, State, State]:
    """A seeded store (kept at ``base/before``), its state, and the state after the import."""
    before = base / "before"
    open_store(before)
    after = base / "after"
    shutil.copytree(before, after)
    with contextlib.redirect_stdout(io.StringIO()):
        if main(import_argv(after)) != 0:
            raise RuntimeError("the reference import failed")
    return before, state(before), state(after)


def check_before_or_after(root: Path, before: State, after: State) -> str:
    """Assert the store reads as exactly ``before`` or ``after``, before and after recovery.

    Also asserts that recovery leaves no unreferenced series file, no temporary file, no commit
    marker and a manifest ending in a newline. Returns ``"before"`` or ``"after"``.
    """
    seen = []
    for _ in range(2):
        frame, batches = state(root)
        if frame.equals(before[0]):
            assert batches == before[1], "rows as before but manifest changed"
            seen.append("before")
        else:
            assert frame.equals(after[0]), "rows neither as before nor as after"
            assert batches == after[1], "rows as after but manifest differs"
            seen.append("after")
        open_store(root, seed=False)  # the next command recovers
    assert seen[0] == seen[1], "recovery changed the committed state"
    index = json.loads((root / "index.json").read_text())
    named = {f for *_, f in index["series"]} | set(index["retired"])
    on_disk = {str(p.relative_to(root)) for p in (root / "prices").rglob("*") if p.is_file()}
    assert on_disk == named, f"unreferenced files left: {sorted(on_disk - named)}"
    assert not list(root.rglob("*.tmp")) and not (root / ".commit").exists()
    assert (root / "manifest.jsonl").read_bytes().endswith(b"\n")
    return seen[0]


def kill_at_fsync(source: Path, root: Path, kill_at: int, before, after) -> str:
    """Copy ``source`` to ``root``, import with a SIGKILL at fsync ``kill_at``, check."""
    shutil.copytree(source, root)
    proc = driver(root, kill_at)
    proc.communicate(timeout=60)
    assert proc.returncode == -9, proc.returncode
    return check_before_or_after(root, before, after)


def kill_at_random(
    source: Path, root: Path, seed: int, before, after, *, window_s=(0.3, 1.6)
) -> tuple[str, bool]:
    """Copy ``source`` to ``root``, SIGKILL the import after a random delay, check.

    Returns the state seen and whether the kill landed (the import had not finished yet).
    """
    shutil.copytree(source, root)
    proc = driver(root, pause=0.02)
    time.sleep(random.Random(seed).uniform(*window_s))
    proc.kill()
    proc.communicate(timeout=60)
    return check_before_or_after(root, before, after), proc.returncode == -9


def run(trials: int) -> None:
    """Every fsync point once, then ``trials`` kills at random times in the run; print the tally."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        source, before, after = before_and_after(base)
        shutil.copytree(source, base / "timed")
        start = time.perf_counter()
        driver(base / "timed", pause=0.02).communicate(timeout=60)
        window = (0.3 * (time.perf_counter() - start), time.perf_counter() - start)
        tally = {"before": 0, "after": 0}
        for n, kill_at in enumerate(FSYNC_POINTS):
            tally[kill_at_fsync(source, base / f"f{n}", kill_at, before, after)] += 1
        landed = 0
        for seed in range(trials):
            root = base / f"r{seed}"
            seen, hit = kill_at_random(source, root, seed, before, after, window_s=window)
            tally[seen] += 1
            landed += hit
        print(
            f"{len(FSYNC_POINTS)} kills at each fsync of the commit and {trials} at random times "
            f"in {window[0]:.2f}..{window[1]:.2f} s ({landed} landed before the import ended): "
            f"{tally['before']} left the store as before, {tally['after']} as after, 0 torn or "
            "mixed, 0 stray files after the next open"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50, help="random-time kills (default 50)")
    run(parser.parse_args().trials)
