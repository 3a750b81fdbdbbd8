"""Scenario generation throughput and peak memory, 10,000 scenarios x 8,760 hours by default.

Each case runs in a fresh Python process so that its peak resident memory
(``resource.getrusage(...).ru_maxrss``) is its own. Cases: both models, float64 and float32,
and bootstrap followed by writing the long Parquet table (what ``energyhedge scenarios
generate`` does). History: LZ_HOUSTON 2023 from a store seeded in a temporary folder.

Run from the repository root: ``PYTHONPATH=. python3 benchmarks/bench_scenarios.py [--n 10000]
[--days 365]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from energyhedge.data.store import open_store
from energyhedge.optimize.benchmark import peak_rss_mb
from energyhedge.scenarios import generate
from energyhedge.scenarios.io import write_scenarios

CASES = (
    ("bootstrap", "float64", False),
    ("bootstrap", "float32", False),
    ("regime", "float64", False),
    ("regime", "float32", False),
    ("bootstrap", "float32", True),
)


def run_case(case: int, n: int, days: int, store: str) -> dict:
    """Generate (and optionally write) one scenario set; return timings and peak memory."""
    model, dtype, write = CASES[case]
    history = open_store(store).read("ercot", "rtm", "LZ_HOUSTON")
    before_mb = peak_rss_mb()
    t0 = time.perf_counter()
    out = generate(
        history,
        iso="ercot",
        node="LZ_HOUSTON",
        market="rtm",
        start=date(2025, 1, 1),
        days=days,
        n=n,
        seed=1,
        model=model,
        dtype=np.dtype(dtype).type,
    )
    generate_s = time.perf_counter() - t0
    write_s = None
    if write:
        t1 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            write_scenarios(out, Path(tmp) / "s.parquet")
        write_s = time.perf_counter() - t1
    s, t = out.prices_usd_per_mwh.shape
    return {
        "model": model,
        "dtype": dtype,
        "write": write,
        "scenarios": s,
        "intervals": t,
        "generate_s": generate_s,
        "write_s": write_s,
        "intervals_per_s": s * t / generate_s,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": before_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--case", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--store", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:
        print(json.dumps(run_case(args.case, args.n, args.days, args.store)))
        return
    with tempfile.TemporaryDirectory() as store:
        print(
            f"scenario generation, {args.n} scenarios x {args.days} days, LZ_HOUSTON 2023 history"
        )
        print(
            f"{'model':10s} {'dtype':8s} {'parquet':8s} {'S x T':>14s} {'gen s':>7s} "
            f"{'write s':>8s} {'intervals/s':>12s} {'peak RSS MB':>12s}"
        )
        for index in range(len(CASES)):
            cmd = [
                sys.executable,
                __file__,
                "--case",
                str(index),
                "--n",
                str(args.n),
                "--days",
                str(args.days),
                "--store",
                store,
            ]
            result = json.loads(
                subprocess.run(cmd, check=True, capture_output=True, text=True)
                .stdout.strip()
                .splitlines()[-1]
            )
            write_s = f"{result['write_s']:.1f}" if result["write_s"] is not None else "-"
            shape = f"{result['scenarios']} x {result['intervals']}"
            yn = "yes" if result["write"] else "no"
            print(
                f"{result['model']:10s} {result['dtype']:8s} {yn:8s}"
                f" {shape:>14s} {result['generate_s']:7.1f} {write_s:>8s}"
                f" {result['intervals_per_s']:12.3g} {result['peak_rss_mb']:12.0f}"
            )


if __name__ == "__main__":
    main()
