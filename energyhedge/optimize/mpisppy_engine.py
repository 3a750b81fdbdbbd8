"""Solve a ``TermProblem`` with mpi-sppy: progressive hedging over scenarios, on MPI ranks.

Each scenario is ``build_pyomo`` of ``TermProblem.with_scenario_products(s)``: its own schedule,
curtailment and DR delivery, and its copy of the first stage (products bought xb and sold xs,
the DR MW committed per period y, with r_t = y_period(t), and the CVaR threshold eta). Its
objective, c_s + lambda * (eta + z_s / (1 - alpha)) in $, weighted by p_s and summed over the
scenarios is E[C] + lambda * CVaR_alpha(C), the term objective (``energyhedge.optimize.term``).
The trade tie-break of ``build_pyomo`` is taken out again, so the bounds are bounds of that
objective exactly.

Cylinders (``mpiexec -n N``): a PH hub; with N a multiple of 2 an inner-bound spoke
(xhatshuffle: the first stage of one scenario tried in all); with N a multiple of 3 also an
outer-bound spoke (Lagrangian, with PH's multipliers). On one rank PH runs alone. The outer
bound is the best of PH's trivial bound (each scenario with its own first stage) and the
Lagrangian bounds. The decision is the spoke's best first stage, else PH's consensus (xbar);
rank 0 evaluates it exactly (every scenario's operations at its DR commitment, then
E[C] + lambda * CVaR with the threshold at its optimum), which is the inner bound reported.

PH's rho, the same in every scenario: for each first-stage variable, ``rho`` times its cost
scale over its range (``first_stage_scales``: e.g. a product's mean |premium - payoff| in $/MW
over its MW limits), the Watson-Woodruff rule of cost over spread. The multipliers PH converges
to are of the cost's size, and a disagreement as wide as the variable's range then moves them
by about that much in one iteration.

PH's proximal term rho/2 (x - xbar)^2 is replaced by mpi-sppy's outer linearisation (cuts on x^2
added as PH goes), so every subproblem stays an LP for HiGHS's simplex: its QP solver is far
slower on a scenario of a year's hours. HiGHS runs with ``SolveOptions.highs_options`` (by
default dual simplex without presolve: presolve took more than a gigabyte per scenario once eta
is bounded). Linearised, the proximal term no longer bounds the subproblems (nor does anything
in the Lagrangian spoke's), so every first-stage variable needs finite bounds: products need MW
limits, and eta gets an interval proven to hold an optimal threshold (``eta_bounds``).

This is the only module that imports mpi4py and mpi-sppy, both imported when a solve starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import sys
import tempfile
import time

import numpy as np
import pyomo.environ as pyo

from energyhedge.errors import ConfigError, SolverError
from energyhedge.model.cost import product_cash_usd
from energyhedge.model.measures import mean_plus_cvar
from energyhedge.model.term import TermProblem
from energyhedge.optimize.highs import HighsRunner
from energyhedge.optimize.lp import (
    COST_UNIT_USD,
    TRADE_TIE_BREAK,
    build_lp,
    hedge_bounds,
    product_limits,
)
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.pyomo_model import build_pyomo
from energyhedge.optimize.ranks import world
from energyhedge.optimize.term import OperationsSolver, TermSolution, product_mw_of, term_solution

SOLVER_NAME = "highs"
"""Pyomo's HiGHS interface for the scenario subproblems (``appsi_highs`` fails under PH)."""

PH_CONVERGENCE = 1e-6
"""PH stops when the mean |x_s - xbar| over the scenarios' first-stage values is below this (MW,
and $ for eta): the scenarios agree, a fixed point of PH, which is optimal."""

RHO_FLOOR = 1.0
"""Smallest cost scale of a first-stage variable in the rho rule ($ per unit)."""


def scenario_names(term: TermProblem) -> list[str]:
    return [f"scenario{s}" for s in range(term.problem.n_scenarios)]


def scenario_creator(
    scenario_name: str,
    term: TermProblem,
    options: SolveOptions,
    eta_bounds_usd: tuple[float, float] | None = None,
) -> pyo.ConcreteModel:
    """The Pyomo model of one scenario with its first stage attached as mpi-sppy's root node.

    ``eta_bounds_usd`` bounds the CVaR threshold (``eta_bounds``); without it eta is free, or
    0 when lambda is 0 (it then costs nothing and only the Lagrangian would see it)."""
    _check_options(options)
    s = int(scenario_name.removeprefix("scenario"))
    model = build_pyomo(term.with_scenario_products(s), options)
    model.name = scenario_name
    if options.cvar_weight == 0:
        model.eta.setlb(0.0)
        model.eta.setub(0.0)
    elif eta_bounds_usd is not None:
        model.eta.setlb(eta_bounds_usd[0])
        model.eta.setub(eta_bounds_usd[1])
    model.objective.expr -= TRADE_TIE_BREAK * COST_UNIT_USD * model.traded
    if term.commits_dr:
        cap = term.dr_cap_mw().tolist()
        room = term.dr_room_mw().tolist()
        period = term.period_of_interval.tolist()
        model.P = pyo.RangeSet(0, term.n_periods - 1)
        model.y = pyo.Var(model.A, model.P, bounds=lambda _, a, p: (0.0, cap[a][p]))
        model.commit = pyo.Constraint(
            model.A, model.T, rule=lambda m, a, t: m.r[a, t] == m.y[a, period[t]]
        )
        model.room = pyo.Constraint(
            model.P, rule=lambda m, p: sum(m.y[a, p] for a in m.A) <= room[p]
        )
    products = term.problem.products
    first_stage_cost = options.cvar_weight * model.eta
    first_stage_cost += sum(products[k].premium_usd_per_mw * model.xb[k] for k in model.K)
    first_stage_cost -= sum(products[k].bid_usd_per_mw * model.xs[k] for k in model.KS)
    sputils = _mpisppy("mpisppy.utils.sputils")
    sputils.attach_root_node(model, first_stage_cost, _first_stage_components(model))
    model._mpisppy_probability = float(term.problem.probabilities[s])
    return model


def solve_mpisppy(
    term: TermProblem,
    options: SolveOptions,
    *,
    max_iterations: int = 200,
    relative_gap: float = 1e-4,
    rho: float = 1.0,
) -> TermSolution:
    """The term decision by progressive hedging (module docstring); run on every MPI rank.

    Stops after ``max_iterations`` PH iterations, when the spokes' (inner - outer) / |inner| is
    below ``relative_gap``, or when the scenarios agree (``PH_CONVERGENCE``). Every rank returns
    the same ``TermSolution`` (rank 0's); ``record`` holds the inner and outer bounds ($), the
    gap, PH iterations, the ranks, the cylinders and the wall time (s).
    """
    _check_options(options)
    comm = _mpisppy("mpisppy").MPI.COMM_WORLD
    cfg_vanilla = _mpisppy("mpisppy.utils.cfg_vanilla")

    started = time.perf_counter()
    n_ranks, everyone = comm.Get_size(), world()
    cylinders = cylinders_for(n_ranks, term.problem.n_scenarios)
    cfg = _mpisppy("mpisppy.utils.config").Config()
    cfg.popular_args()
    cfg.ph_args()
    cfg.two_sided_args()
    cfg.xhatshuffle_args()
    cfg.lagrangian_args()
    cfg.solver_name = SOLVER_NAME
    cfg.max_iterations = max_iterations
    cfg.default_rho = rho
    cfg.rel_gap = relative_gap
    cfg.abs_gap = 0.0
    cfg.max_stalled_iters = max_iterations
    cfg.intra_hub_conv_thresh = PH_CONVERGENCE
    cfg.linearize_proximal_terms = True
    cfg.solver_options = " ".join(f"{k}={v}" for k, v in options.highs_options.items())
    beans = (cfg, scenario_creator, None, scenario_names(term))
    kwargs = {"term": term, "options": options}
    _check_bounded(term)
    if options.cvar_weight > 0:
        kwargs["eta_bounds_usd"] = everyone.on_root(lambda: eta_bounds(term, options))
    rho_setter = _rho_setter(term, options, rho)
    hub = cfg_vanilla.ph_hub(*beans, scenario_creator_kwargs=kwargs, rho_setter=rho_setter)
    spokes = []
    if "xhatshuffle" in cylinders:
        spokes.append(cfg_vanilla.xhatshuffle_spoke(*beans, scenario_creator_kwargs=kwargs))
    if "lagrangian" in cylinders:
        spokes.append(
            cfg_vanilla.lagrangian_spoke(
                *beans, scenario_creator_kwargs=kwargs, rho_setter=rho_setter
            )
        )
    wheel = _mpisppy("mpisppy.spin_the_wheel").WheelSpinner(hub, spokes)
    wheel.spin()
    solved_s = time.perf_counter() - started

    candidate = _best_first_stage(wheel, comm)

    def evaluate() -> TermSolution:
        vector, source = candidate
        record = {
            "first_stage_from": source,
            "outer_bound_usd": float(wheel.BestOuterBound),
            "spoke_inner_bound_usd": _finite_or_none(wheel.BestInnerBound),
            "ph_iterations": int(wheel.spcomm.opt._PHIter),
            "ranks": n_ranks,
            "cylinders": list(cylinders),
            "rho": rho,
            "ph_s": round(solved_s, 3),
        }
        return _evaluate(term, options, vector, record=record, started=started)

    return everyone.on_root(evaluate)


def eta_bounds(term: TermProblem, options: SolveOptions) -> tuple[float, float]:
    """An interval ($) holding an optimal CVaR threshold, the bounds of eta in the scenario
    models (a free eta makes a scenario unbounded once its multiplier leaves [-lambda,
    lambda * alpha / (1 - alpha)]).

    An optimal eta is VaR_alpha(C*) of the optimal costs C*, between min_s C*_s and
    CVaR_alpha(C*) = (F* - E[C*]) / lambda. Each C*_s is at least L_s, scenario s's least cost
    with a first stage of its own (the day-ahead LP of scenario s alone with lambda 0, a
    relaxation: its DR offer is free hour by hour), so E[C*] >= sum_s p_s L_s;
    F* is at most the objective of any decision: scenario 0's products with no DR committed.
    """
    p = term.problem
    risk_neutral = dataclasses.replace(options, cvar_weight=0.0)
    _, buy_hi, _, _, sell_hi = hedge_bounds(*product_limits(p))
    most_traded_mw = float(buy_hi.sum() + sell_hi.sum())
    least = np.empty(p.n_scenarios)
    for s in range(p.n_scenarios):
        lp = build_lp(term.with_scenario_products(s), risk_neutral)
        result = HighsRunner(lp, options.highs_options, options.time_limit_s).run()
        if not result.optimal:
            raise SolverError(f"mpisppy: the least cost of scenario {s}: HiGHS {result.status}")
        # the LP's optimum is min (c_s + tie-break), and the tie-break is at most this much
        tie_break_k_usd = TRADE_TIE_BREAK * most_traded_mw
        least[s] = (result.record["objective"] - tie_break_k_usd) * COST_UNIT_USD
        if s == 0:
            products_mw = product_mw_of(term, lp, result.values)
    upper = decision_objective_usd(term, options, products_mw, np.zeros(term.n_periods))[0]
    cvar_at_most = (upper - float(p.probabilities @ least)) / options.cvar_weight
    return float(least.min()), float(max(cvar_at_most, least.min()))


def _check_options(options: SolveOptions) -> None:
    if options.budget_form:
        raise ConfigError(
            "the mpisppy engine solves the penalty form E[C] + lambda * CVaR only: the CVaR "
            "budget row couples every scenario; use --engine decomposed (or ef) with "
            "--cvar-budget"
        )


LOGGING_MODULES = (
    "mpisppy.cylinders.hub",
    "mpisppy.cylinders.xhatshufflelooper_bounder",
    "mpisppy.cylinders.xhatlooper_bounder",
    "mpisppy.cylinders.slam_heuristic",
    "mpisppy.utils.xhat_eval",
)
"""mpi-sppy modules that open a log file in the working directory when imported (hub.log,
xhatclp.log, ...): imported first from a scratch folder, so no run leaves files behind."""


def _mpisppy(module: str):
    """A module of mpi-sppy, imported on first use (importing it starts MPI)."""
    try:
        if not all(name in sys.modules for name in LOGGING_MODULES):
            with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
                for name in LOGGING_MODULES:
                    importlib.import_module(name)
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"the mpisppy engine needs mpi4py and mpi-sppy ({exc}); install them with "
            "pip install 'energyhedge[mpi]' (mpi4py builds against an MPI library, e.g. "
            "Debian's openmpi-bin and libopenmpi-dev)"
        ) from exc


def cylinders_for(ranks: int, n_scenarios: int) -> tuple[str, ...]:
    """The cylinders for ``ranks`` MPI ranks: each gets ranks / cylinders of them."""
    if ranks % 3 == 0:
        cylinders = ("ph", "xhatshuffle", "lagrangian")
    elif ranks % 2 == 0:
        cylinders = ("ph", "xhatshuffle")
    elif ranks == 1:
        cylinders = ("ph",)
    else:
        raise ConfigError(
            f"the mpisppy engine runs on 1 rank or a multiple of 2 or 3 ranks (a PH hub, an "
            f"inner-bound spoke and, on a multiple of 3, an outer-bound spoke with equal "
            f"ranks each), got mpiexec -n {ranks}"
        )
    per_cylinder = ranks // len(cylinders)
    if per_cylinder > n_scenarios:
        raise ConfigError(
            f"{ranks} MPI ranks give {per_cylinder} ranks to each of the {len(cylinders)} "
            f"cylinders but there are only {n_scenarios} scenarios; use at most "
            f"{n_scenarios * len(cylinders)} ranks"
        )
    return cylinders


def _check_bounded(term: TermProblem) -> None:
    """Every product's MW must be limited (else a multiplier can make a scenario unbounded)."""
    _, buy_hi, sellable, _, sell_hi = hedge_bounds(*product_limits(term.problem))
    names = [k.name for k in term.problem.products]
    unlimited = [names[k] for k in np.flatnonzero(~np.isfinite(buy_hi))]
    unlimited += [names[k] for k, hi in zip(sellable, sell_hi, strict=True) if not np.isfinite(hi)]
    if unlimited:
        raise ConfigError(
            f"the mpisppy engine needs MW limits on every product; "
            f"{', '.join(sorted(set(unlimited)))} have none: give them min_mw / max_mw, or use "
            "--engine decomposed"
        )


def _first_stage_components(model: pyo.ConcreteModel) -> list:
    """The first-stage variables in root-node order: xb, xs, y (when present), eta."""
    parts = [model.xb, model.xs, getattr(model, "y", None), model.eta]
    return [v for v in parts if v is not None and len(v) > 0]


def _split_first_stage(term: TermProblem, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Net product MW [K] and the MW committed to each DR/AS product per period [A, P] from a
    root-node vector."""
    k_n = len(term.problem.products)
    sellable = hedge_bounds(*product_limits(term.problem))[2]
    bought = vector[:k_n]
    sold = vector[k_n : k_n + sellable.size]
    rest = vector[k_n + sellable.size : -1]
    product_mw = bought.copy()
    product_mw[sellable] -= sold
    cap = term.dr_cap_mw()
    dr = rest.reshape(cap.shape).copy() if term.commits_dr else np.zeros_like(cap)
    return product_mw, dr


def _rho_setter(term: TermProblem, options: SolveOptions, rho: float):
    """mpi-sppy's rho_setter: ``rho`` times each first-stage variable's cost scale over its
    range (module docstring), the same in every scenario."""
    cost, span = first_stage_scales(term, options)
    per_variable = rho * cost / span

    def setter(model: pyo.ConcreteModel) -> list[tuple[int, float]]:
        variables = model._mpisppy_node_list[0].nonant_vardata_list
        return [(id(v), float(r)) for v, r in zip(variables, per_variable, strict=True)]

    return setter


def first_stage_scales(term: TermProblem, options: SolveOptions) -> tuple[np.ndarray, np.ndarray]:
    """Per first-stage variable (root-node order): the probability-weighted mean magnitude of
    its objective coefficient over the scenarios ($ per unit, at least ``RHO_FLOOR``) and the
    width of its range (units, at least 1).

    Products: premium minus payoff (bought), payoff minus bid (sold), over their MW limits. DR
    MW: the period's revenue per MW of each DR/AS product, over its cap. eta: lambda /
    (1 - alpha), its largest slope, over the spread of the scenarios' costs at full load
    without hedges."""
    p = term.problem
    prob = np.asarray(p.probabilities, dtype=float)
    payoff = np.array([k.payoff_usd_per_mw for k in p.products]).reshape(len(p.products), -1)
    ask = np.array([k.premium_usd_per_mw for k in p.products])
    bid = np.array([k.bid_usd_per_mw for k in p.products])
    buy_lo, buy_hi, sellable, sell_lo, sell_hi = hedge_bounds(*product_limits(p))
    cost = [
        np.abs(ask[:, None] - payoff) @ prob,
        np.abs(payoff[sellable] - bid[sellable, None]) @ prob,
    ]
    span = [buy_hi - buy_lo, sell_hi - sell_lo]
    if term.commits_dr:
        month = np.eye(term.n_periods)[term.period_of_interval]  # [T, P] one-hot
        revenue = (p.dr_price_usd_per_mw_h * p.interval_hours) @ month  # [A, S, P] $/MW
        cost.append(np.einsum("asp,s->ap", np.abs(revenue), prob).ravel())
        span.append(term.dr_cap_mw().ravel())
    load = p.firm_load_mw + sum(np.asarray(f.max_mw, dtype=float) for f in p.flex)
    unhedged = (p.prices_usd_per_mwh * p.interval_hours[None, :] + p.cp_weight_usd_per_mw) @ load
    cost.append(np.array([options.cvar_weight / (1.0 - options.alpha)]))
    span.append(np.array([np.ptp(unhedged)]))
    cost, span = np.concatenate(cost), np.concatenate(span)
    return np.maximum(cost, RHO_FLOOR), np.clip(np.nan_to_num(span, posinf=1.0), 1.0, None)


def _best_first_stage(wheel, comm) -> tuple[np.ndarray, str] | None:
    """On rank 0: the root-node vector of the best inner bound's cylinder, else PH's xbar."""
    hub = wheel.spcomm if wheel.strata_rank == 0 else None
    winner = comm.bcast(
        hub.last_ib_idx if comm.Get_rank() == 0 else None,
        root=0,
    )
    mine = None
    if (
        winner is not None
        and winner > 0
        and (wheel.strata_rank, wheel.cylinder_rank) == (winner, 0)
    ):
        scenario = next(iter(wheel.spcomm.opt.local_scenarios.values()))
        node = scenario._mpisppy_node_list[0]
        mine = (np.array([pyo.value(v) for v in node.nonant_vardata_list]), "xhatshuffle")
    found = comm.gather(mine, root=0)
    if comm.Get_rank() != 0:
        return None
    found = [f for f in found if f is not None]
    if found:
        return found[0]
    scenario = next(iter(hub.opt.local_scenarios.values()))
    xbars = scenario._mpisppy_model.xbars
    n = len(scenario._mpisppy_node_list[0].nonant_vardata_list)
    return np.array([pyo.value(xbars["ROOT", i]) for i in range(n)]), "ph_xbar"


def decision_objective_usd(
    term: TermProblem, options: SolveOptions, product_mw: np.ndarray, dr_by_period_mw: np.ndarray
) -> tuple[float, np.ndarray]:
    """E[C] + lambda * CVaR_alpha(C) of a first stage ($) and its operating costs Q_s ($, [S]):
    every scenario's operations at the DR commitment, the products' cash, the CVaR threshold at
    its optimum."""
    p = term.problem
    q = OperationsSolver(term, options, np.arange(p.n_scenarios)).solve(dr_by_period_mw)[0]
    cost = q + product_cash_usd(p, product_mw).sum(axis=1)
    return mean_plus_cvar(cost, p.probabilities, options.alpha, options.cvar_weight), q


def _evaluate(
    term: TermProblem, options: SolveOptions, vector: np.ndarray, *, record: dict, started: float
) -> TermSolution:
    """The decision's exact objective ($): operations at its DR commitment, then
    E[C] + lambda * CVaR; the ``TermSolution`` with the outer bound as its lower bound."""
    product_mw, dr = _split_first_stage(term, vector)
    dr = term.within_room(np.clip(dr, 0.0, term.dr_cap_mw()))
    objective, q = decision_objective_usd(term, options, product_mw, dr)
    outer = record["outer_bound_usd"]
    if outer > objective + 1e-6 * max(1.0, abs(objective)):
        raise SolverError(
            f"mpisppy: the outer bound {outer:,.2f} is above the decision's cost "
            f"{objective:,.2f}: a scenario subproblem failed (see mpi-sppy's output) and its "
            "bound is not valid"
        )
    record = {
        **record,
        "eta_usd": float(vector[-1]),
        "inner_bound_usd": objective,
        "relative_gap": (objective - outer) / max(1.0, abs(objective)),
        "total_s": round(time.perf_counter() - started, 3),
    }
    solution = term_solution(
        term, product_mw, dr, q, objective=objective, lower=outer, engine="mpisppy", record=record
    )
    return dataclasses.replace(solution, iterations=record["ph_iterations"])


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
