"""The fleet decision service: history -> joint scenarios -> fleet LP -> out-of-sample values.

As for one campus (``energyhedge.decide``): the history before the horizon is split into
disjoint blocks of days (``scenarios.holdout.split_history``, on the fleet clock's local days);
in-sample joint scenarios come from one half and out-of-sample ones from the other; every
strategy is solved in sample and valued out of sample with each campus's real-time ladder,
products settled at the prices the decision traded (``assemble.struck_catalogue``).

Strategies (each one fleet LP):

- ``both``: power hedges and compute sales (reservations and the index swap), work may move:
  the recommendation (the fleet LP sizes the power hedges and the swap; each reservation size
  offered is solved and the best in-sample margin objective kept);
- ``power_only``, ``compute_only``, ``none``: the same fleet with one or both kinds of hedge
  left out (what each removes of the margin risk);
- ``both_fixed``, ``none_fixed``: ``both`` and ``none`` with migration forbidden (the value of
  moving work, hedged and unhedged).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from energyhedge.assemble import build_problem, struck_catalogue
from energyhedge.config import load_toml
from energyhedge.data.calendar import ISO_TZ, day_start_utc
from energyhedge.data.gridstatus import GridstatusOptions
from energyhedge.data.importers import read_prices
from energyhedge.data.store import open_store
from energyhedge.errors import ConfigError, DataError
from energyhedge.fleet.compute import (
    ComputeBook,
    Margin,
    load_compute,
    margin,
    margin_objective_usd,
    reserve,
)
from energyhedge.fleet.lp import FleetProblem, FleetSolution, solve_fleet
from energyhedge.fleet.model import Fleet, load_fleet
from energyhedge.fleet.scenarios import (
    JointScenarios,
    candidate_history,
    draw_joint,
    joint_history,
    validate_joint,
)
from energyhedge.fleet.value import FleetValuation, value_fleet
from energyhedge.model.measures import mean_p5_p95, tail_weights, var_cvar
from energyhedge.model.problem import HedgeProblem
from energyhedge.optimize import SolveOptions
from energyhedge.scenarios.holdout import split_history

STRATEGIES = {
    "both": (True, True, True),
    "power_only": (True, False, True),
    "compute_only": (False, True, True),
    "none": (False, False, True),
    "both_fixed": (True, True, False),
    "none_fixed": (False, False, False),
}
"""Strategy -> (power hedges, compute sales, work may move)."""


@dataclass(frozen=True)
class FleetProfile:
    """A fleet run profile (``models/runs/fleet-*.toml``)."""

    path: Path
    fleet: Fleet
    compute: ComputeBook
    history_files: tuple[tuple[Path, tuple[str, ...]], ...]
    start: date
    days: int
    n: int
    seed: int
    month_window: int
    oos_n: int
    oos_seed: int
    options: SolveOptions


def load_fleet_profile(path: str | Path) -> FleetProfile:
    """Read a fleet run profile; ConfigError naming file, key and reason."""
    root = load_toml(path)
    root.reject_unknown({"run", "history", "scenarios", "out_of_sample", "risk", "solver"})
    base = Path(path).parent
    run = root.table("run")
    run.reject_unknown({"fleet"})
    fleet = load_fleet(base / run.get("fleet", str))
    files = []
    for t in root.tables("history"):
        t.reject_unknown({"file", "location_types"})
        types = t.get("location_types", list, [])
        files.append((base / t.get("file", str), tuple(str(x) for x in types)))
    sc = root.table("scenarios")
    sc.reject_unknown({"n", "seed", "start", "days", "month_window"})
    oos = root.table("out_of_sample")
    oos.reject_unknown({"n", "seed"})
    risk = root.table("risk", None)
    risk.reject_unknown({"alpha", "lambda"})
    solver = root.table("solver", None)
    solver.reject_unknown({"time_limit_s"})
    start = sc.get("start", date)
    days = sc.integer("days", 1, min_value=1, max_value=7)
    compute = load_compute(
        fleet.compute, fleet.path.parent, fleet.names, horizon=(start, start + timedelta(days - 1))
    )
    for r in compute.reservations:
        moving = {(m.home, m.home_name) for m in fleet.movable}
        if (r.campus, r.tier) in moving:
            raise ConfigError(
                f"{fleet.path}: reservation on {r.campus}/{r.tier}, a class that may move; "
                "reserve GPUs of a tier that stays at its campus"
            )
    return FleetProfile(
        path=Path(path),
        fleet=fleet,
        compute=compute,
        history_files=tuple(files),
        start=start,
        days=days,
        n=sc.integer("n", min_value=2),
        seed=sc.integer("seed", 0),
        month_window=sc.integer("month_window", 0, min_value=0, max_value=6),
        oos_n=oos.integer("n", min_value=2),
        oos_seed=oos.integer("seed", 1),
        options=SolveOptions(
            alpha=risk.number("alpha", 0.95),
            cvar_weight=risk.number("lambda", 1.0, min_value=0.0),
            time_limit_s=solver.number("time_limit_s", 120.0),
            marginals=False,
        ),
    )


def read_history(profile: FleetProfile, *, offline: bool, store_root=None) -> pl.DataFrame:
    """Every campus's prices before the horizon (which starts at local midnight of the fleet's
    clock, the first campus's ISO): from the profile's ``[[history]]`` files (``offline``) or
    from the local price store."""
    campuses = [c.campus for c in profile.fleet.campuses]
    if offline:
        if not profile.history_files:
            raise DataError(f"{profile.path}: --offline needs [[history]] files in the profile")
        frames = []
        for path, types in profile.history_files:
            if not path.is_file():
                raise DataError(
                    f"{profile.path}: history file {path} not found; put the price file there "
                    "or run without --offline to read the local price store"
                )
            options = GridstatusOptions(location_types=types) if types else None
            frames.append(read_prices(path, gridstatus=options).frame)
        history = pl.concat(frames, how="vertical_relaxed")
    else:
        store = open_store(store_root)
        history = pl.concat(
            [store.read(c.iso, c.market, c.node) for c in campuses], how="vertical_relaxed"
        )
    end = day_start_utc(profile.start, campuses[0].iso)  # the horizon starts on the clock's day
    keep = pl.lit(False)
    for c in campuses:
        keep = keep | (
            (pl.col("iso") == c.iso)
            & (pl.col("node") == c.node)
            & (pl.col("market") == c.market)
            & (pl.col("interval_start_utc") < end)
        )
    return history.filter(keep)


@dataclass(frozen=True)
class StrategyResult:
    """One strategy solved in sample and valued out of sample.

    ``book`` holds the compute contracts in use (reservations at the chosen size);
    ``candidates`` each reservation-size combination tried and its in-sample margin
    objective ($, lower is better); ``in_sample`` the decision valued with the rule and the
    ladders on its own scenarios (against the LP's ``solution.power_cost_usd``: the value of
    foresight).
    """

    name: str
    solution: FleetSolution
    out_of_sample: FleetValuation
    margin: Margin
    book: ComputeBook
    candidates: tuple[tuple[tuple[float, ...], float], ...]
    in_sample: FleetValuation


@dataclass(frozen=True)
class FleetRun:
    """Everything a fleet run produced; ``fleet.report`` reads only this."""

    profile: FleetProfile
    split_description: str
    in_sample: JointScenarios
    out_of_sample: JointScenarios
    validation: dict
    strategies: dict[str, StrategyResult]
    oos_problems: dict[str, FleetProblem]
    """Each strategy's out-of-sample problem (its products at the traded prices)."""


def run_fleet(profile: FleetProfile, history: pl.DataFrame) -> FleetRun:
    """Solve every strategy of the module docstring and value it out of sample."""
    fleet = profile.fleet
    clock = fleet.campuses[0].campus.iso
    sites = tuple(fleet.site_campus(n) for n in fleet.names)
    overlap = joint_history(history, sites)
    local_day = pl.col("interval_start_utc").dt.convert_time_zone(ISO_TZ[clock]).dt.date()
    days = pl.Series("day", overlap.dates).cast(pl.Date).implode()
    history = history.filter(local_day.is_in(days))  # split only the days every campus has
    split = split_history(history, clock, profile.oos_seed)
    fit, held = joint_history(split.fit, sites), joint_history(split.held_out, sites)
    draw = {"start": profile.start, "days": profile.days, "month_window": profile.month_window}
    ins = draw_joint(fit, sites, n=profile.n, seed=profile.seed, **draw)
    oos = draw_joint(held, sites, n=profile.oos_n, seed=profile.oos_seed, **draw)
    a, b = fleet.names[0], fleet.names[1]
    validation = {
        "campuses": [a, b],
        "in_sample": validate_joint(candidate_history(fit, **draw), ins, a, b),
        "out_of_sample": validate_joint(candidate_history(held, **draw), oos, a, b),
        "all_history": validate_joint(overlap, ins, a, b)["historical"],
    }
    index = profile.compute.index
    ins_index = index.daily_levels(profile.days, profile.n, profile.seed).mean(axis=1)
    oos_index = index.daily_levels(profile.days, profile.oos_n, profile.oos_seed).mean(axis=1)
    results, oos_problems = {}, {}
    for name, (power, compute, mobile) in STRATEGIES.items():
        chosen = fleet if mobile else fleet.without_moves()
        books = profile.compute.candidates() if compute else [profile.compute.without_sales()]
        scored = []
        for book in books:  # reservation sizes: the best margin objective in sample
            fp = _fleet_problem(chosen, book, ins, ins_index, power=power)
            solution = solve_fleet(fp, profile.options)
            score, valued = _in_sample(profile, fp, solution, book)
            scored.append((score, book, fp, solution, valued))
        _, book, fp, solution, in_sample = min(scored, key=lambda item: item[0])
        fresh = _fresh_problem(chosen, book, fp, solution, oos, index=oos_index)
        valuation = value_fleet(fresh, solution)
        results[name] = StrategyResult(
            name,
            solution,
            valuation,
            margin(
                book,
                index_average=oos_index,
                gpu_hours=valuation.gpu_hours,
                cash_cost_usd=valuation.cash_cost_usd,
                hours=fp.horizon_hours,
                swap_gpus=solution.swap_gpus,
            ),
            book,
            tuple((tuple(r.gpus for r in b.reservations), score) for score, b, *_ in scored),
            in_sample,
        )
        oos_problems[name] = fresh
    return FleetRun(
        profile=profile,
        split_description=split.description,
        in_sample=ins,
        out_of_sample=oos,
        validation=validation,
        strategies=results,
        oos_problems=oos_problems,
    )


def _in_sample(
    profile: FleetProfile, fp: FleetProblem, solution: FleetSolution, book: ComputeBook
) -> tuple[float, FleetValuation]:
    """The margin objective of ``solution`` on its own (in-sample) scenarios with the rule,
    and that valuation."""
    valuation = value_fleet(fp, solution)
    m = margin(
        book,
        index_average=fp.index_average,
        gpu_hours=valuation.gpu_hours,
        cash_cost_usd=valuation.cash_cost_usd,
        hours=fp.horizon_hours,
        swap_gpus=solution.swap_gpus,
    )
    o = profile.options
    score = margin_objective_usd(m.margin_usd, fp.first.probabilities, o.alpha, o.cvar_weight)
    return score, valuation


def _site_campuses(fleet: Fleet, book: ComputeBook) -> dict:
    """Each campus as it runs in the fleet, with the book's reservations made firm."""
    out = {}
    for name in fleet.names:
        campus = fleet.site_campus(name)
        for r in book.reservations:
            if r.campus == name:
                campus = reserve(campus, r)
        out[name] = campus
    return out


def _site_problem(fleet: Fleet, campus, catalogue, scenarios) -> HedgeProblem:
    """One campus's problem in the fleet: ``build_problem`` on its site campus, plus the
    movable inference classes it may serve as job classes."""
    problem = build_problem(campus, catalogue, scenarios)
    served = fleet.served_flex(campus, problem.interval_start_utc, problem.interval_hours)
    return dataclasses.replace(problem, flex=problem.flex + served)


def _index_gpu_hours(problems: dict[str, HedgeProblem], book: ComputeBook) -> np.ndarray:
    """GPU-hours of firm work sold at the index per interval: firm work less reservations."""
    first = next(iter(problems.values()))
    firm = sum(p.firm_gpu_hours for p in problems.values())
    reserved = sum(r.gpus for r in book.reservations) * first.interval_hours
    return firm - reserved


def _fleet_problem(
    fleet: Fleet, book: ComputeBook, scenarios: JointScenarios, index, *, power: bool
) -> FleetProblem:
    campuses = _site_campuses(fleet, book)
    problems = {}
    for fc in fleet.campuses:
        name = fc.campus.name
        problem = _site_problem(fleet, campuses[name], fc.catalogue, scenarios.sets[name])
        if not power:
            none = tuple(dataclasses.replace(p, min_mw=0.0, max_mw=0.0) for p in problem.products)
            problem = dataclasses.replace(problem, products=none)
        problems[name] = problem
    swap = book.swap
    return FleetProblem(
        problems=problems,
        movable=fleet.movable,
        index_average=index,
        index_gpu_hours=_index_gpu_hours(problems, book),
        swap_strike_usd_per_gpu_hour=swap.strike_usd_per_gpu_hour if swap else 0.0,
        swap_max_gpus=swap.max_gpus if swap else 0.0,
    )


def _fresh_problem(
    fleet: Fleet,
    book: ComputeBook,
    decided: FleetProblem,
    solution: FleetSolution,
    scenarios: JointScenarios,
    *,
    index: np.ndarray,
) -> FleetProblem:
    """The problem the decision is judged on: out-of-sample prices, products as traded."""
    campuses = _site_campuses(fleet, book)
    problems = {}
    for fc in fleet.campuses:
        name = fc.campus.name
        struck = struck_catalogue(
            fc.catalogue, decided.problems[name], solution.decisions[name].product_mw
        )
        problems[name] = _site_problem(fleet, campuses[name], struck, scenarios.sets[name])
    return dataclasses.replace(decided, problems=problems, index_average=index)


def figures(run: FleetRun) -> dict:
    """The headline figures: value of mobility, margin distribution, risk removed."""
    alpha = run.profile.options.alpha
    prob = run.out_of_sample.probabilities
    ins_prob = run.in_sample.probabilities
    out = {"strategies": {}}
    for name, r in run.strategies.items():
        v, m = r.out_of_sample, r.margin
        cpg = v.cost_per_gpu_hour_usd
        mpg = m.margin_per_gpu_hour_usd
        mean, p5, p95 = mean_p5_p95(mpg, prob)
        shortfall = var_cvar(float(prob @ m.margin_usd) - m.margin_usd, prob, alpha)[1]
        out["strategies"][name] = {
            "cost_per_gpu_hour_usd": dict(
                zip(("mean", "p5", "p95"), mean_p5_p95(cpg, prob), strict=True),
                cvar=var_cvar(cpg, prob, alpha)[1],
            ),
            "fleet_cost_usd": {
                "mean": float(prob @ v.cost_usd),
                "cvar": var_cvar(v.cost_usd, prob, alpha)[1],
            },
            "margin_per_gpu_hour_usd": {
                "mean": mean,
                "p5": p5,
                "p95": p95,
                "std": float(np.sqrt(prob @ (mpg - prob @ mpg) ** 2)),
                "worst_tail_mean": float(-var_cvar(-mpg, prob, alpha)[1]),
            },
            "margin_usd": {
                "mean": float(prob @ m.margin_usd),
                "std": float(np.sqrt(prob @ (m.margin_usd - prob @ m.margin_usd) ** 2)),
                "tail_shortfall": shortfall,
            },
            "in_sample_cost_usd": {  # the LP's recourse vs the rule: the value of foresight
                "lp_mean": float(ins_prob @ r.solution.power_cost_usd),
                "rule_mean": float(ins_prob @ r.in_sample.cost_usd),
            },
            "swap_gpus": r.solution.swap_gpus,
            "reservation_gpus": [res.gpus for res in r.book.reservations],
            "reservation_candidates": [
                {"gpus": list(sizes), "in_sample_margin_objective_usd": score}
                for sizes, score in r.candidates
            ],
            "migration_usd": {
                "mean": float(prob @ v.migration_usd),
                "scenarios_with_moves": float(prob @ (v.migration_usd > 0)),
            },
        }
    s = out["strategies"]
    out["value_of_mobility_usd_per_gpu_hour"] = {
        "hedged": s["both_fixed"]["cost_per_gpu_hour_usd"]["mean"]
        - s["both"]["cost_per_gpu_hour_usd"]["mean"],
        "unhedged": s["none_fixed"]["cost_per_gpu_hour_usd"]["mean"]
        - s["none"]["cost_per_gpu_hour_usd"]["mean"],
    }
    base = s["none"]["margin_usd"]
    out["margin_risk_removed"] = {
        name: {
            "std": 1.0 - s[name]["margin_usd"]["std"] / base["std"] if base["std"] else None,
            "tail_shortfall": 1.0 - s[name]["margin_usd"]["tail_shortfall"] / base["tail_shortfall"]
            if base["tail_shortfall"]
            else None,
        }
        for name in ("power_only", "compute_only", "both")
    }
    out["worst_scenarios"] = worst_scenarios(run, "both")
    return out


def worst_scenarios(run: FleetRun, strategy: str, count: int = 5) -> dict:
    """Where the movable work ran out of sample: in the tail (worst 1 - alpha of fleet cost)
    against all scenarios, and the ``count`` worst scenarios with distinct historical days."""
    r = run.strategies[strategy]
    prob = run.out_of_sample.probabilities
    cost = r.out_of_sample.cost_usd
    tail = tail_weights(cost, prob, run.profile.options.alpha)
    drawn = run.out_of_sample.drawn_dates
    order = np.argsort(-cost, kind="stable")
    _, first = np.unique([tuple(d) for d in drawn[order].astype(str)], axis=0, return_index=True)
    worst = order[np.sort(first)][:count]
    movable = {m.name: m for m in run.profile.fleet.movable}
    work = {}
    for name, by_site in r.out_of_sample.site_gpu_hours.items():
        sites = movable[name].sites
        work[name] = {
            site: {"all_mean": float(prob @ by_site[i]), "tail_mean": float(tail @ by_site[i])}
            for i, site in enumerate(sites)
        }
    return {
        "strategy": strategy,
        "movable_gpu_hours_by_site": work,
        "worst": [
            {
                "scenario": int(s),
                "historical_days": [str(d) for d in drawn[s]],
                "fleet_cost_usd": float(cost[s]),
                "movable_gpu_hours_by_site": {
                    name: {site: float(by_site[i, s]) for i, site in enumerate(movable[name].sites)}
                    for name, by_site in r.out_of_sample.site_gpu_hours.items()
                },
            }
            for s in worst
        ],
    }


def horizon_label(profile: FleetProfile) -> str:
    """The horizon's first local day and length, for the report."""
    end = profile.start + timedelta(days=profile.days - 1)
    return f"{profile.start.isoformat()} .. {end.isoformat()}"
