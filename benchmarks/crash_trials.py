"""Many random SIGKILLs of nightly, optimize and backtest, with the outcome of each counted.

The longer form of ``tests/test_run_crashes.py`` (same trials, same checks, see
``tests/run_harness.py``): for each command, one clean run, then ``--trials`` runs killed after a
random delay (seeded), each followed by the checks of the output, the registry and the store, and a
final run that must clean up. Prints one line per command and exits 1 if any check failed.
Run: ``python3 benchmarks/crash_trials.py --trials 60``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# Runnable from a plain checkout: the harness lives with the tests.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from run_harness import commands, copy_store, crash_trials, seeded_store  # noqa: E402
from test_nightly import write_profile  # noqa: E402

COMMANDS = ("nightly", "optimize", "backtest")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60, help="kills per command (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill delays")
    parser.add_argument("--commands", nargs="+", choices=COMMANDS, default=list(COMMANDS))
    args = parser.parse_args(argv)
    problems = 0
    with tempfile.TemporaryDirectory(prefix="crash-trials-") as tmp:
        work = Path(tmp)
        shipped = seeded_store(work / "seeded")
        profile = write_profile(work)
        for name in args.commands:
            store = copy_store(shipped, work / f"store-{name}")
            out = work / "reports" if name == "nightly" else work / "runs" / name
            t0 = time.monotonic()
            report = crash_trials(
                commands(profile, store)[name], out, store, trials=args.trials, seed=args.seed
            )
            print(f"{report.line()} ({time.monotonic() - t0:.0f} s)", flush=True)
            for problem in report.problems:
                print(f"  {problem}")
            problems += len(report.problems)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
