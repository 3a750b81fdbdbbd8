"""`energyhedge optimize` on a term run profile: term.json, trades.csv, term.html."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from energyhedge.commands.optimize import decision_inputs, input_records, run_key
from energyhedge.optimize.ranks import world
from energyhedge.report.term import write_term_outputs
from energyhedge.runs import RunProfile
from energyhedge.term_run import decide_term, read_warm_start, structure_key


def run_term(profile: RunProfile, out_dir: Path, *, store_root: Path | None = None) -> int:
    """Decide the term on the local price store and publish its outputs; progress on stderr.

    Under ``mpiexec`` every rank runs this: they share the engine's and the valuation's work,
    and rank 0 alone prints and writes the outputs.
    """

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    ranks = world()
    loaded = decision_inputs(profile, store_root)
    warm = read_warm_start(out_dir, structure_key(profile, loaded.catalogue))
    run = decide_term(
        profile,
        loaded.campus,
        loaded.catalogue,
        loaded.history,
        loaded.start,
        warm_start=warm,
        say=say,
        ranks=ranks,
    )
    if not ranks.root:
        return 0
    inputs = input_records(profile, loaded)
    context = {
        "run_id": f"{loaded.campus.name}-{loaded.start:%Y%m}-term-{run_key(profile, inputs)}",
        "as_of": loaded.as_of.isoformat(),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "inputs": inputs,
    }
    out = write_term_outputs(out_dir, run, context)
    rec, bare = run.out_of_sample["recommended"], run.out_of_sample["unhedged"]
    alpha = profile.solve_options.alpha
    print(
        f"{run.engine}: {run.solution.iterations} iteration(s), bound gap "
        f"{run.solution.relative_gap:.1e}. Out of sample: CVaR{alpha:.0%} ${rec.cvar_usd:,.0f} "
        f"(unhedged ${bare.cvar_usd:,.0f}), mean ${rec.expected_usd:,.0f} (unhedged "
        f"${bare.expected_usd:,.0f})"
    )
    print(f"wrote {out}/term.json, trades.csv, term.html")
    return 0
