"""Out-of-sample valuation of a term run at scale: 10,000 and 100,000 fresh year-long paths.

Run (after ``python3 -m pip install -e .``, on the shipped store):
``python3 benchmarks/bench_term_valuation.py [--paths 10000,100000] [--in-sample 40]``.

Each size runs the demo term profile (``models/runs/term-ercot.toml``: calendar 2024, 8,784
hours) in its own process with a small in-sample set, so the figures are the valuation's:
seconds to generate and value the fresh paths (``OUT_OF_SAMPLE_CHUNK`` at a time), paths per
second, and the process's peak resident memory. Printed last: the time and memory ratios of
the largest size to the smallest, measured in this run (bounded memory: a ratio near 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def value_once(paths: int, in_sample: int, pipe) -> None:
    from energyhedge.commands.optimize import decision_inputs  # noqa: PLC0415
    from energyhedge.optimize.benchmark import peak_rss_mb  # noqa: PLC0415
    from energyhedge.runs import load_run_profile  # noqa: PLC0415
    from energyhedge.term_run import decide_term  # noqa: PLC0415

    profile = load_run_profile(REPO / "models/runs/term-ercot.toml")
    profile = dataclasses.replace(
        profile,
        scenarios=dataclasses.replace(profile.scenarios, n=in_sample, out_of_sample_n=paths),
    )
    loaded = decision_inputs(profile, None)
    run = decide_term(profile, loaded.campus, loaded.catalogue, loaded.history, loaded.start)
    peak_mb = peak_rss_mb()
    pipe.send(
        {
            "paths": paths,
            "valuation_s": run.timings_s["valuation_s"],
            "peak_rss_mb": peak_mb,
            "cvar_usd": run.out_of_sample["recommended"].cvar_usd,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", default="10000,100000")
    parser.add_argument("--in-sample", type=int, default=40)
    args = parser.parse_args()
    context = multiprocessing.get_context("fork")
    results = []
    for paths in (int(p) for p in args.paths.split(",")):
        parent, child = context.Pipe()
        process = context.Process(target=value_once, args=(paths, args.in_sample, child))
        process.start()
        result = parent.recv()
        process.join()
        results.append(result)
        print(
            f"{paths:,} paths x 8,784 h: valuation {result['valuation_s']:.1f} s "
            f"({paths / result['valuation_s']:,.0f} paths/s), peak RSS "
            f"{result['peak_rss_mb']:,.0f} MB, out-of-sample CVaR95 ${result['cvar_usd']:,.0f}",
            flush=True,
        )
    if len(results) > 1:
        small, large = results[0], results[-1]
        print(
            f"{large['paths']:,} vs {small['paths']:,} paths: time x"
            f"{large['valuation_s'] / small['valuation_s']:.2f}, peak memory x"
            f"{large['peak_rss_mb'] / small['peak_rss_mb']:.2f}"
        )


if __name__ == "__main__":
    main()
