"""Many random SIGKILLs of nightly, optimize and backtest, with the outcome of each counted.

The longer form of ``tests/test_run_crashes.py`` (same trials, same checks, see
``tests/run_harness.py``): for each command, one clean run, then ``--trials`` runs killed after a
random delay (seeded), each followed by the checks of the output, the registry and the store, and a
final run that must clean up. With ``--steps``, also kills each command once at every rename of
publishing (``run_harness.PUBLISH_STEPS``). Prints one line per command (and step) and exits 1 if
any check failed. Run: ``python3 benchmarks/crash_trials.py --trials 60 --steps``.
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
from run_harness import (  # noqa: E402
    PUBLISH_STEPS,
    commands,
    copy_store,
    crash_trials,
    seeded_store,
    step_kill,
)
from test_nightly import write_profile  # noqa: E402

COMMANDS = ("nightly", "optimize", "backtest")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60, help="kills per command (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill delays")
    parser.add_argument("--commands", nargs="+", choices=COMMANDS, default=list(COMMANDS))
    parser.add_argument("--steps", action="store_true", help="also kill at every publishing step")
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
            if args.steps:
                problems += kill_every_step(name, work, profile, shipped)
    return 1 if problems else 0


def kill_every_step(name: str, work: Path, profile: Path, shipped: Path) -> int:
    """Kill ``name`` once at each publishing step; print each outcome; count torn outputs and
    problems the next run left."""
    count = 0
    for i, (function, n) in enumerate(PUBLISH_STEPS[name]):
        store = copy_store(shipped, work / f"store-{name}-step{i}")
        out = work / f"step{i}" / ("reports" if name == "nightly" else name)
        outcome, problems = step_kill(commands(profile, store)[name], out, function, n)
        torn = outcome not in ("absent", "previous", "new")
        print(
            f"  {name} killed before rename {n} in {function}: {outcome}; next run: "
            f"{'; '.join(problems) or 'clean'}",
            flush=True,
        )
        count += torn + len(problems)
    return count


if __name__ == "__main__":
    raise SystemExit(main())
