"""The term decision service: months of history -> disjoint halves -> scenarios over whole
months -> a ``TermProblem`` -> an engine -> out-of-sample valuation in chunks -> ``TermRun``.

The same steps as the day-ahead service (``energyhedge.decide``), with what a term horizon
changes: products per month or quarter (``Catalogue.over_days``), operations as recourse
(``energyhedge.model.term``), an engine chosen from the size of the model
(``choose_engine``), and out-of-sample paths generated and valued ``OUT_OF_SAMPLE_CHUNK`` at a
time, so a large out-of-sample set never sits in memory at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from energyhedge.assemble import build_problem
from energyhedge.campus import Campus
from energyhedge.data.calendar import local_fields
from energyhedge.decide import joint_points, out_of_sample_problem, scenario_arguments
from energyhedge.errors import ConfigError
from energyhedge.instruments import Catalogue
from energyhedge.model.cost import product_cash_usd
from energyhedge.model.measures import RiskMeasures, risk_measures
from energyhedge.model.problem import HedgeProblem
from energyhedge.model.term import TermProblem
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.ranks import Ranks
from energyhedge.runs import RunProfile
from energyhedge.scenarios import generate
from energyhedge.scenarios.holdout import split_history

if TYPE_CHECKING:
    from energyhedge.optimize.term import TermSolution

OUT_OF_SAMPLE_CHUNK = 2000
"""Out-of-sample paths generated and valued at a time (memory: about 3 x 8 bytes x T per path
for prices, DR prices and tag weights)."""

AUTO_EF_NONZEROS = 2_000_000
"""``auto`` picks the extensive form up to this many nonzeros, the decomposition above."""

STATE_FILE = "term-state.json"
"""The first stage a term run leaves in its output folder for the next run to start from."""

STRATEGIES = {
    "recommended": "the hedges and the DR commitment",
    "commitment_only": "the DR commitment, no hedges",
    "unhedged": "no hedges and no DR commitment",
}
"""The decisions a term run values, in and out of sample."""


@dataclass(frozen=True)
class TermRun:
    """One term decision and its valuation.

    Attributes
    ----------
    term : TermProblem
        The in-sample problem (products priced at what they would trade at).
    solution : energyhedge.optimize.term.TermSolution
    engine, engine_reason : str
        The engine that solved it, and why it was chosen.
    size : dict
        ``optimize.term.term_size`` of the in-sample problem, known before any build.
    in_sample, out_of_sample : dict[str, RiskMeasures]
        Each strategy of ``STRATEGIES`` priced on the scenarios it was decided on, and on fresh
        paths from the held-out half of history ($).
    out_of_sample_paths : int
    timings_s : dict
        Wall time of each stage (s).
    ranks : int
        MPI ranks that shared the work (1 without ``mpiexec``).
    structure : str
        ``structure_key`` of the run: a later run with the same key may start from this one.
    warm_start : dict or None
        The previous run's first stage this run started from, and that run's iterations.
    """

    profile: RunProfile
    campus: Campus
    catalogue: Catalogue
    start: date
    term: TermProblem
    solution: TermSolution
    engine: str
    engine_reason: str
    size: dict
    in_sample: dict[str, RiskMeasures]
    out_of_sample: dict[str, RiskMeasures]
    out_of_sample_paths: int
    timings_s: dict
    structure: str = ""
    ranks: int = 1
    warm_start: dict | None = None
    notes: tuple[str, ...] = field(default=())


def _silent(line: str) -> None:
    """A progress sink that drops the line (ranks other than 0)."""


def monthly_periods(interval_start_utc: np.ndarray, iso: str) -> tuple[np.ndarray, tuple]:
    """Local calendar month of each interval: period index [T] and labels ``YYYY-MM``."""
    fields = local_fields(interval_start_utc, iso)
    month_number = fields["year"] * 12 + fields["month"] - 1
    months, period = np.unique(month_number, return_inverse=True)
    labels = tuple(f"{m // 12}-{m % 12 + 1:02d}" for m in months.tolist())
    return period.astype(np.int64), labels


def term_problem(problem: HedgeProblem, iso: str) -> TermProblem:
    """``problem`` split into calendar months."""
    period, labels = monthly_periods(problem.interval_start_utc, iso)
    return TermProblem(problem, period, labels)


def choose_engine(size: dict, requested: str, options: SolveOptions) -> tuple[str, str]:
    """The engine to run and why: ``requested`` unless ``"auto"``; ``auto`` takes the extensive
    form when it has at most ``AUTO_EF_NONZEROS`` nonzeros, else the decomposition (which
    holds one scenario's operations at a time per worker)."""
    from energyhedge.optimize.term import check_extensive_size  # noqa: PLC0415

    ef = size["extensive_form"]
    if requested == "ef":
        check_extensive_size(ef, options)  # before anything is built
    if requested != "auto":
        return requested, "requested"
    if ef["nonzeros"] <= AUTO_EF_NONZEROS:
        return "ef", (
            f"auto: the extensive form has {ef['nonzeros']:,} nonzeros "
            f"(<= {AUTO_EF_NONZEROS:,}), small enough for one LP"
        )
    return "decomposed", (
        f"auto: the extensive form would have {ef['nonzeros']:,} nonzeros (about "
        f"{ef['memory_mb']:,.0f} MB); the decomposition holds one scenario's operations "
        f"({size['subproblem']['nonzeros']:,} nonzeros) per worker at a time"
    )


def structure_key(profile: RunProfile, catalogue: Catalogue) -> str:
    """What must match for one run to start from another's first stage: campus, months,
    product templates and the scenario count."""
    assert profile.term is not None
    names = ",".join(spec.name for spec in catalogue)
    return f"{profile.campus_path.name}|{profile.term.months}|{names}|{profile.scenarios.n}"


def read_warm_start(out_dir: Path, key: str) -> dict | None:
    """The first stage a previous run left in ``out_dir`` when its structure matches, else None
    (a missing, unreadable or foreign state file is ignored: the run starts cold)."""
    path = Path(out_dir) / STATE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("structure") != key:
        return None
    return state


def decide_term(
    profile: RunProfile,
    campus: Campus,
    catalogue: Catalogue,
    history: pl.DataFrame,
    start: date,
    *,
    warm_start: dict | None = None,
    say: Callable[[str], None] = lambda line: None,
    ranks: Ranks | None = None,
) -> TermRun:
    """Make and value one term decision for the months from local day ``start``.

    ``say`` receives one progress line per stage (the work can take minutes). Under MPI
    (``ranks``, e.g. ``optimize.ranks.world()``) every rank calls this with the same inputs:
    the engine and the valuation split their scenarios among the ranks, every rank returns the
    same run, and only rank 0 speaks.
    """
    ranks = ranks or Ranks()
    if not ranks.root:
        say = _silent
    from energyhedge.optimize.term import (  # noqa: PLC0415 (solver stack loaded lazily)
        term_size,
    )

    settings, term_settings = profile.scenarios, profile.term
    if term_settings is None:
        raise ConfigError(f"{profile.path}: not a term run profile (no [term] table)")
    options = profile.solve_options
    timings = {}
    clock = time.perf_counter()
    split = split_history(history, campus.iso, seed=settings.out_of_sample_seed)
    joint = joint_points(profile, campus, catalogue)
    args = scenario_arguments(profile, campus, start, joint)
    scenarios = generate(history, fit_history=split.fit, **args)
    structure = structure_key(profile, catalogue)
    catalogue = catalogue.over_intervals(scenarios.interval_start_utc)
    problem = build_problem(campus, catalogue, scenarios)
    term = term_problem(problem, campus.iso)
    size = term_size(term, options)
    timings["scenarios_s"] = time.perf_counter() - clock
    engine, reason = choose_engine(size, term_settings.engine, options)
    say(
        f"term: {term.n_periods} months x {problem.n_intervals:,} intervals x "
        f"{problem.n_scenarios:,} scenarios, {len(problem.products)} products; engine {engine} "
        f"({reason})"
    )
    clock = time.perf_counter()
    start_dr = None
    if warm_start is not None:
        start_dr = np.asarray(warm_start["dr_by_period_mw"], dtype=float)
    solution = solve_term(
        term, options, engine, term_settings, start_dr_mw=start_dr, say=say, ranks=ranks
    )
    timings["solve_s"] = time.perf_counter() - clock
    say(
        f"term: solved by {engine} in {timings['solve_s']:.1f} s, {solution.iterations} "
        f"iteration(s), bound gap {solution.relative_gap:.2e}"
    )
    clock = time.perf_counter()
    in_sample = value_term(term, solution, options, term_settings.workers, ranks)
    out_of_sample = _value_out_of_sample(
        profile,
        campus,
        catalogue,
        history=history,
        split=split,
        args=args,
        problem=problem,
        solution=solution,
        say=say,
        ranks=ranks,
    )
    timings["valuation_s"] = time.perf_counter() - clock
    return TermRun(
        profile=profile,
        campus=campus,
        catalogue=catalogue,
        start=start,
        term=term,
        solution=solution,
        engine=engine,
        engine_reason=reason,
        size=size,
        in_sample=in_sample,
        out_of_sample=out_of_sample,
        out_of_sample_paths=settings.out_of_sample_n,
        timings_s={k: round(v, 3) for k, v in timings.items()},
        structure=structure,
        ranks=ranks.size,
        warm_start=warm_start,
    )


def solve_term(term: TermProblem, options: SolveOptions, engine: str, settings, **kwargs):
    """Run ``engine`` on ``term`` (``energyhedge.optimize.term``, ``optimize.mpisppy_engine``);
    keyword arguments: ``start_dr_mw``, ``say``, ``ranks``."""
    from energyhedge.optimize import term as engines  # noqa: PLC0415 (solver stack, lazily)

    ranks = kwargs.get("ranks") or Ranks()
    if engine == "ef":  # one LP, on rank 0
        return ranks.on_root(lambda: engines.solve_extensive(term, options))
    if engine == "decomposed":
        return engines.solve_decomposed(
            term,
            options,
            workers=settings.workers,
            relative_gap=settings.relative_gap,
            start_dr_mw=kwargs.get("start_dr_mw"),
            say=kwargs.get("say"),
            ranks=ranks,
        )
    from energyhedge.optimize.mpisppy_engine import solve_mpisppy  # noqa: PLC0415

    return solve_mpisppy(term, options, relative_gap=max(settings.relative_gap, 1e-4))


def value_term(
    term: TermProblem, solution, options: SolveOptions, workers: int, ranks: Ranks | None = None
) -> dict[str, RiskMeasures]:
    """Risk measures of each strategy of ``STRATEGIES`` on the scenarios the decision was made
    on ($); the operating costs at the commitment are the solution's own."""
    costs = strategy_costs(
        term,
        solution.product_mw,
        solution.dr_by_period_mw,
        options,
        workers=workers,
        committed=solution.operating_cost_usd,
        ranks=ranks,
    )
    p = term.problem.probabilities
    return {name: risk_measures(c, p, options.alpha) for name, c in costs.items()}


def strategy_costs(
    term: TermProblem,
    product_mw: np.ndarray,
    dr_by_period_mw: np.ndarray,
    options: SolveOptions,
    *,
    workers: int,
    committed: np.ndarray | None = None,
    ranks: Ranks | None = None,
) -> dict[str, np.ndarray]:
    """Scenario costs of each strategy ($, [S]): operations at the commitment (``committed``
    when already known) or with nothing committed, plus the hedges' cash."""
    from energyhedge.optimize.term import operating_costs  # noqa: PLC0415

    if committed is None:
        committed = operating_costs(term, dr_by_period_mw, options, workers=workers, ranks=ranks)
    if np.any(np.asarray(dr_by_period_mw) > 0):
        nothing = np.zeros_like(dr_by_period_mw)
        bare = operating_costs(term, nothing, options, workers=workers, ranks=ranks)
    else:
        bare = committed
    cash = product_cash_usd(term.problem, product_mw).sum(axis=1)
    return {"recommended": committed + cash, "commitment_only": committed, "unhedged": bare}


def _value_out_of_sample(
    profile, campus, catalogue, *, history, split, args, problem, solution, say, ranks
) -> dict[str, RiskMeasures]:
    """Strategies on fresh paths from the held-out history, generated and valued in chunks
    (under MPI each rank takes every ``ranks.size``-th chunk)."""
    settings, options = profile.scenarios, profile.solve_options
    total = settings.out_of_sample_n
    sizes = [a.size for a in np.array_split(np.arange(total), -(-total // OUT_OF_SAMPLE_CHUNK))]
    seeds = [settings.out_of_sample_seed] + [
        int(s)
        for s in np.random.SeedSequence(settings.out_of_sample_seed).generate_state(
            len(sizes) - 1, dtype=np.uint64
        )
        % (2**62)
    ]

    def value_mine() -> list:
        mine = []
        for i in ranks.mine(len(sizes)):
            n, seed = sizes[i], seeds[i]
            fresh = generate(history, fit_history=split.held_out, **{**args, "n": n, "seed": seed})
            fresh_problem = out_of_sample_problem(
                campus, catalogue, problem, solution.product_mw, fresh
            )
            fresh_term = term_problem(fresh_problem, campus.iso)
            chunk = strategy_costs(
                fresh_term,
                solution.product_mw,
                solution.dr_by_period_mw,
                options,
                workers=profile.term.workers,
            )
            mine.append((i, chunk, fresh_problem.probabilities * (n / total)))
            if len(sizes) > 1:
                say(f"term: out of sample, chunk {i + 1}/{len(sizes)} ({n:,} paths) valued")
        return mine

    parts = ranks.gather_each(value_mine)
    chunks = sorted((c for part in parts for c in part), key=lambda c: c[0])
    costs = {name: [chunk[name] for _, chunk, _ in chunks] for name in STRATEGIES}
    p = np.concatenate([w for _, _, w in chunks])
    return {
        name: risk_measures(np.concatenate(costs[name]), p / p.sum(), options.alpha)
        for name in STRATEGIES
    }
