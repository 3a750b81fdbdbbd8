"""The decision service: history -> scenarios -> problem -> solve -> valuation, once.

``decide`` is what ``energyhedge optimize`` and the nightly run call; the back-test's optimised
decider calls ``decide_in_sample`` for each window. Nothing is valued twice and every figure has
one basis:

- In-sample scenarios are generated from one half of the history and out-of-sample scenarios
  from the other (disjoint blocks of days, ``scenarios.holdout``), with the same model.
- Out of sample, every product settles at the price the decision traded
  (``assemble.struck_catalogue``): blocks at the ask or bid they were bought or sold at,
  options at the premium paid.
- Every strategy, in and out of sample, runs the real-time curtailment ladder of
  ``model.cost``; the LP's own in-sample recourse (which sees each whole price path) is kept
  beside it, so the LP-vs-ladder gap is the value of foresight.
- The efficient frontier is re-valued out of sample with the ladder, on the same basis as the
  risk table.
- With two settlements (``[run] settlement = "two_settlement"``), the recommendation is also
  valued out of sample with all energy bought in real time and with the whole schedule bought
  day-ahead (``settlement_choice``), the value of the optimised split.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from energyhedge.assemble import (
    DAY_AHEAD_MARKET,
    build_problem,
    dr_price_points,
    struck_catalogue,
)
from energyhedge.book import Book, BookView, load_book, value_book
from energyhedge.campus import Campus
from energyhedge.errors import SolverError
from energyhedge.forwards import market_consistent, model_vs_market
from energyhedge.instruments import Catalogue
from energyhedge.model.cost import (
    DrProductLines,
    cost_breakdown,
    dr_product_lines,
    restart_rule,
)
from energyhedge.model.measures import mean_p5_p95, tail_weights, var_cvar
from energyhedge.model.problem import HedgeProblem
from energyhedge.optimize import frontier as solve_frontier
from energyhedge.optimize import solve
from energyhedge.risk import (
    Valuation,
    describe_gap,
    settlement_strategies,
    value_decisions,
    value_strategies,
)
from energyhedge.runs import RunProfile
from energyhedge.scenarios import ScenarioSet, generate
from energyhedge.scenarios.holdout import HistorySplit, split_history

RESAMPLES = 200
"""Bootstrap resamples of the model-risk intervals."""

Stage = Callable[[str], contextlib.AbstractContextManager]
"""Opens a named, timed stage of a run (the nightly run's progress and log); optional."""


@dataclass(frozen=True)
class FrontierPoint:
    """One lambda of the frontier, with its trades valued out of sample with the ladder ($)."""

    cvar_weight: float
    product_mw: np.ndarray
    in_sample_objective_usd: float
    expected_cost_usd: float
    cvar_usd: float


@dataclass(frozen=True)
class LadderGap:
    """The LP's in-sample recourse (sees each path whole) against the ladder on the same
    scenarios ($): the difference is the value of foresight."""

    lp_expected_usd: float
    lp_cvar_usd: float
    ladder_expected_usd: float
    ladder_cvar_usd: float

    @property
    def expected_gap_usd(self) -> float:
        return self.ladder_expected_usd - self.lp_expected_usd

    @property
    def cvar_gap_usd(self) -> float:
        return self.ladder_cvar_usd - self.lp_cvar_usd


@dataclass(frozen=True)
class BasisExposure:
    """What hedging away from the campus's own settlement point leaves with the campus, out of
    sample ($): per scenario ``sum_k x_k (payoff_k at the campus point - payoff_k at its own
    point)``, i.e. how much more the same trades would have paid had they settled at the
    campus's point (positive: the basis cost the campus)."""

    cost_usd: np.ndarray
    expected_usd: float
    p5_usd: float
    p95_usd: float
    cvar_contribution_usd: float
    """The basis lines' share of the recommended strategy's CVaR (tail-weighted mean, $)."""
    products: tuple[str, ...]


@dataclass(frozen=True)
class DecisionRun:
    """Everything one decision produced; ``report/`` and the CLI read only this."""

    profile: RunProfile
    campus: Campus
    catalogue: Catalogue
    start: date
    history: pl.DataFrame
    split: HistorySplit
    scenarios: ScenarioSet
    fresh: ScenarioSet
    problem: HedgeProblem
    fresh_problem: HedgeProblem
    solution: object
    in_sample: Valuation
    out_of_sample: Valuation
    ladder_gap: LadderGap
    frontier: tuple[FrontierPoint, ...]
    frontier_error: str | None
    settlement_choice: dict
    basis: BasisExposure | None
    market_views: tuple
    market_sentence: str | None
    gap_sentence: str
    warnings: tuple[str, ...]
    book: Book | None = None
    """Positions held before the decision (fixed products of both problems), or None."""
    positions: BookView | None = None
    """The book's mark-to-market, delta grid, P&L distribution and collateral estimate."""
    ancillary: DrProductLines | None = None
    """Each DR/AS product's revenue, penalty, calls and what they cost, out of sample under the
    recommended decision; None when the campus offers none."""

    @property
    def decision(self):
        return self.solution.decision


def joint_points(
    profile: RunProfile, campus: Campus, catalogue: Catalogue, book: Book | None = None
) -> tuple[tuple[str, str], ...]:
    """Settlement points (node, market) the scenarios must carry besides the campus's own:
    every product's point, every point of the hedge book (``book``, else the profile's), an
    ancillary-service price each DR/AS offer is paid, and the day-ahead market at the campus node
    for two settlements."""
    points = {(p.node, p.market) for p in catalogue.products}
    points.update(dr_price_points(campus))
    if book is None and profile.book is not None:
        book = load_book(profile.book, allow_unusual_values=profile.allow_unusual_values)
    points |= {(t.settlement_point, t.market) for t in book or ()}
    if profile.day_ahead:
        points.add((campus.node, DAY_AHEAD_MARKET))
    points.discard((campus.node, campus.market))
    return tuple(sorted(points))


def scenario_arguments(
    profile: RunProfile,
    campus: Campus,
    start: date,
    joint: tuple[tuple[str, str], ...] = (),
    **overrides,
) -> dict:
    """Keyword arguments of ``scenarios.generate`` for the profile's horizon from ``start``."""
    settings = profile.scenarios
    return {
        "iso": campus.iso,
        "node": campus.node,
        "market": campus.market,
        "start": start,
        "days": settings.days,
        "model": settings.model,
        "stress": settings.stress,
        "month_window": settings.month_window,
        "offer_cap": settings.offer_cap_usd_per_mwh,
        "n": settings.n,
        "seed": settings.seed,
        "joint": joint,
        **overrides,
    }


def decide_in_sample(
    campus: Campus,
    catalogue: Catalogue,
    scenarios: ScenarioSet,
    options,
    *,
    gas=None,
    day_ahead: bool = False,
    marks=None,
    book: Book | None = None,
):
    """Build the problem on ``scenarios`` and solve it: (problem, solution).

    When a job class has a stop cost, the decision's real-time rule is the restart-aware ladder
    with thresholds set from these scenarios (``model.cost.restart_thresholds``).
    """
    problem = build_problem(
        campus, catalogue, scenarios, gas=gas, day_ahead=day_ahead, marks=marks, book=book
    )
    solution = solve(problem, options)
    rule = restart_rule(problem)
    if rule is not None:
        solution = replace(
            solution, decision=replace(solution.decision, stop_above_usd_per_mwh=rule)
        )
    return problem, solution


def out_of_sample_problem(
    campus: Campus,
    catalogue: Catalogue,
    decided_on: HedgeProblem,
    product_mw,
    fresh: ScenarioSet,
    *,
    gas=None,
    day_ahead: bool = False,
    book: Book | None = None,
) -> HedgeProblem:
    """The problem a decision is judged on: ``fresh`` prices, products at their traded prices
    (book positions at their own)."""
    struck = struck_catalogue(catalogue, decided_on, product_mw)
    return build_problem(campus, struck, fresh, gas=gas, day_ahead=day_ahead, book=book)


def decide(
    profile: RunProfile,
    campus: Campus,
    catalogue: Catalogue,
    history: pl.DataFrame,
    start: date,
    *,
    stage: Stage | None = None,
    warnings: tuple[str, ...] = (),
    as_of: date | None = None,
    book: Book | None = None,
) -> DecisionRun:
    """Make and value one decision for the horizon starting on local day ``start``.

    Parameters
    ----------
    profile, campus, catalogue
        The run profile and what it names.
    history : pl.DataFrame
        Canonical prices before the horizon (no look-ahead), split into disjoint halves for the
        in-sample and out-of-sample scenarios.
    start : date
        First ISO-local day of the horizon.
    stage : callable, optional
        ``stage(name)`` returns a context manager timing that stage (``scenarios``, ``solve``,
        ``frontier``, ``value``: the nightly run's ``STEPS`` between ``data`` and ``outputs``).
    warnings : tuple of str
        Warnings of the caller (e.g. stale data) carried into the result.
    as_of : date, optional
        The run's date: the forward marks in force then price the products (the day before
        ``start`` when omitted).
    book : energyhedge.book.Book, optional
        Positions already held (the profile's ``[run] book`` when omitted; trades dated after
        ``as_of`` are left out): fixed in both problems, so the recommended trades are
        incremental.
    """
    stage = stage or (lambda name: contextlib.nullcontext())
    settings = profile.scenarios
    options = profile.solve_options
    notes = list(warnings)
    as_of = as_of or start - timedelta(days=1)
    if book is None and profile.book is not None:
        book = load_book(profile.book, allow_unusual_values=profile.allow_unusual_values)
    if book is not None:
        book = book.on(as_of)
    with stage("scenarios"):
        split = split_history(history, campus.iso, seed=settings.out_of_sample_seed)
        joint = joint_points(profile, campus, catalogue, book)
        args = scenario_arguments(profile, campus, start, joint)
        scenarios = generate(history, fit_history=split.fit, **args)
        fresh = generate(
            history,
            fit_history=split.held_out,
            **{**args, "n": settings.out_of_sample_n, "seed": settings.out_of_sample_seed},
        )
        marks = profile.marks(as_of)
        views, market_sentence = (), None
        if marks is not None:
            views = model_vs_market(
                marks,
                iso=campus.iso,
                point=campus.node,
                market=campus.market,
                interval_start_utc=scenarios.interval_start_utc,
                interval_minutes=scenarios.interval_minutes,
                prices_usd_per_mwh=scenarios.prices_usd_per_mwh,
                probabilities=scenarios.probabilities,
            )
            if settings.market_consistent:
                scenarios, market_sentence = market_consistent(scenarios, marks)
                fresh, _ = market_consistent(fresh, marks)
    with stage("solve"):
        problem, solution = decide_in_sample(
            campus,
            catalogue,
            scenarios,
            options,
            day_ahead=profile.day_ahead,
            marks=marks,
            book=book,
        )
        notes += list(solution.notes)
    decision = solution.decision
    fresh_problem = out_of_sample_problem(
        campus,
        catalogue,
        problem,
        decision.product_mw,
        fresh,
        day_ahead=profile.day_ahead,
        book=book,
    )
    points: tuple[FrontierPoint, ...] = ()
    frontier_error = None
    with stage("frontier"):
        try:
            solved = solve_frontier(problem, profile.frontier_lambdas, options)
        except SolverError as exc:  # the recommendation stands without the frontier
            frontier_error = f"efficient frontier not computed: {exc}"
            notes.append(frontier_error)
        else:
            points = tuple(
                _frontier_point(
                    campus,
                    catalogue,
                    problem,
                    fresh,
                    point=point,
                    alpha=options.alpha,
                    day_ahead=profile.day_ahead,
                    book=book,
                )
                for point in solved
            )
    with stage("value"):
        in_sample = value_strategies(
            problem,
            decision,
            options.alpha,
            basis="in sample",
            resamples=RESAMPLES,
            seed=settings.seed,
        )
        out_of_sample = value_strategies(
            fresh_problem,
            decision,
            options.alpha,
            basis="out of sample",
            resamples=RESAMPLES,
            seed=settings.out_of_sample_seed,
        )
        settlement_choice = (
            value_decisions(
                fresh_problem, settlement_strategies(fresh_problem, decision), options.alpha
            )
            if profile.day_ahead
            else {}
        )
        ancillary = dr_product_lines(fresh_problem, decision) if fresh_problem.offers_dr else None
        positions = None
        if book is not None:
            positions = value_book(
                book,
                problem,
                fresh_problem,
                marks=marks,
                as_of=as_of,
                history=history,
                alpha=options.alpha,
            )
    basis = basis_exposure(
        campus,
        catalogue,
        problem,
        fresh,
        decision,
        total_cost_usd=out_of_sample.costs["recommended"].total_cost_usd,
        alpha=options.alpha,
    )
    ladder = in_sample.recommended.cost
    gap = LadderGap(
        lp_expected_usd=solution.expected_cost_usd,
        lp_cvar_usd=solution.cvar_usd,
        ladder_expected_usd=ladder.expected_usd,
        ladder_cvar_usd=ladder.cvar_usd,
    )
    return DecisionRun(
        profile=profile,
        campus=campus,
        catalogue=catalogue,
        start=start,
        history=history,
        split=split,
        scenarios=scenarios,
        fresh=fresh,
        problem=problem,
        fresh_problem=fresh_problem,
        solution=solution,
        in_sample=in_sample,
        out_of_sample=out_of_sample,
        ladder_gap=gap,
        frontier=points,
        frontier_error=frontier_error,
        settlement_choice=settlement_choice,
        basis=basis,
        market_views=views,
        market_sentence=market_sentence,
        gap_sentence=describe_gap(in_sample, out_of_sample),
        warnings=tuple(notes),
        book=book,
        positions=positions,
        ancillary=ancillary,
    )


def basis_exposure(
    campus: Campus,
    catalogue: Catalogue,
    decided_on: HedgeProblem,
    fresh: ScenarioSet,
    decision,
    *,
    total_cost_usd: np.ndarray,
    alpha: float,
) -> BasisExposure | None:
    """The basis the decision's trades away from the campus's point leave, out of sample; None
    when every traded product settles at the campus's own point.

    Each product is priced twice on the fresh scenarios at its traded price: at its own point
    and, re-pointed, at the campus's; ``total_cost_usd`` [S] (the recommended strategy's
    out-of-sample cost) sets the tail weights of the CVaR contribution.
    """
    specs = {spec.name: spec for spec in catalogue.products}
    held = [
        (specs[p.name], float(x))
        for p, x in zip(decided_on.products, decision.product_mw, strict=True)
        if p.name in specs and x != 0.0
    ]
    away = tuple(
        spec.name for spec, _ in held if (spec.node, spec.market) != (campus.node, campus.market)
    )
    if not away:
        return None
    struck = struck_catalogue(catalogue, decided_on, decision.product_mw)
    home = replace(
        struck,
        products=tuple(
            replace(spec, node=campus.node, market=campus.market) for spec in struck.products
        ),
    )
    own = {p.name: p for p in build_problem(campus, struck, fresh).products}
    at_home = {p.name: p for p in build_problem(campus, home, fresh).products}
    cost = sum(
        mw * (at_home[spec.name].payoff_usd_per_mw - own[spec.name].payoff_usd_per_mw)
        for spec, mw in held
    )
    p = fresh.probabilities
    expected, p5, p95 = mean_p5_p95(cost, p)
    return BasisExposure(
        cost_usd=cost,
        expected_usd=expected,
        p5_usd=p5,
        p95_usd=p95,
        cvar_contribution_usd=float(tail_weights(total_cost_usd, p, alpha) @ cost),
        products=away,
    )


def _frontier_point(
    campus, catalogue, problem, fresh, *, point, alpha: float, day_ahead: bool, book=None
) -> FrontierPoint:
    """A frontier optimum valued out of sample with the ladder, at its own traded prices."""
    decision = point.solution.decision
    target = out_of_sample_problem(
        campus, catalogue, problem, decision.product_mw, fresh, day_ahead=day_ahead, book=book
    )
    cost = cost_breakdown(target, decision).total_cost_usd
    return FrontierPoint(
        cvar_weight=point.cvar_weight,
        product_mw=np.asarray(decision.product_mw, dtype=float),
        in_sample_objective_usd=point.objective_usd,
        expected_cost_usd=float(target.probabilities @ cost),
        cvar_usd=var_cvar(cost, target.probabilities, alpha)[1],
    )
