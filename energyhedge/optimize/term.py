"""Solve a ``TermProblem`` (``energyhedge.model.term``): the extensive form, or a decomposition
over scenarios.

Master (first stage and the CVaR threshold), costs in k$ (``lp.COST_UNIT_USD``):
    xb[K], xs[Ks]  products bought and sold, as in ``energyhedge.optimize.lp``
    y[A, P]        MW committed to each DR/AS product per period  [0, TermProblem.dr_cap_mw()]
    theta[S]       operating cost Q_s of scenario s (free; fixed once known, or bounded by cuts)
    c[S]           scenario cost: c_s = theta_s + H_s(x)      (row ``cost``)
    drroom[P]      sum_a y_ap <= TermProblem.dr_room_mw()     (with DR/AS products)
    eta, z[S]      CVaR as in ``lp.define_cvar`` (and ``lp.define_budget`` in the budget form)
Objective: sum_s p_s c_s (+ lambda * CVaR), the day-ahead LP's objective with the hourly
operations replaced by their cost.

Subproblem s: ``lp.OPERATIONS`` on ``TermProblem.operations(s)`` with the offers r_at fixed at
y_a,period(t); its least cost is Q_s(y), and the reduced costs of r summed per product and
period are a subgradient of Q_s at y (the LP's duals, exact).

Engines:
    ef          one LP: the master with S copies of the operations LP, linked by
                theta_s = c_s of copy s and r_ast = y_a,period(t).
    decomposed  without DR commitments Q_s does not depend on the first stage: each scenario's
                operations are solved once (in parallel) and the master is solved once with
                theta fixed (exact). With commitments: multi-cut L-shaped, one optimality cut per
                scenario and iteration, each scenario's subproblem restarted from its own last
                basis; the upper bound at each y solves the master with y and theta = Q(y)
                fixed, so both bounds are exact and the run stops at the requested gap.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from energyhedge.errors import SolverError
from energyhedge.model.cost import cost_breakdown, product_cash_usd
from energyhedge.model.problem import Decision
from energyhedge.model.term import TermProblem
from energyhedge.optimize.highs import HighsRunner
from energyhedge.optimize.index import Layout
from energyhedge.optimize.lp import (
    COST_UNIT_USD,
    OPERATIONS,
    Assembly,
    LinearProgram,
    build_lp,
    define_budget,
    define_cvar,
    define_hedge_ratio,
    define_hedges,
    hedge_bounds,
    model_size,
    objective_k_usd,
    product_limits,
    put_hedge_cash,
)
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.ranks import Ranks

ENGINES = ("ef", "decomposed", "mpisppy")

BYTES_PER_NONZERO = 400
"""Memory estimate per nonzero of an LP built here and solved by HiGHS: our arrays while
building (entries, the CSC matrix, the stacked copies of the extensive form) and HiGHS's
column- and row-wise copies and factor. Measured: the term-small extensive form (937,069
nonzeros) peaked at 460 MB resident, the year-100 one (22,791,062 nonzeros) held 8.9 GB while
solving (``bench optimize --size term-small`` / ``year-100``)."""
BYTES_PER_ROW_OR_COLUMN = 200
"""Memory estimate per row or column: bounds, costs, solution, duals and basis in both."""


@dataclass(frozen=True)
class TermSolution:
    """The first-stage decision of a term run and its scenario costs.

    Attributes
    ----------
    product_mw : ndarray [K]
        Net MW of each product (bought minus sold).
    dr_by_period_mw : ndarray [A, P]
        MW committed to each DR/AS product for each period (zeros without a programme).
    operating_cost_usd : ndarray [S]
        Q_s at the committed DR ($).
    scenario_cost_usd : ndarray [S]
        C_s = Q_s + H_s ($).
    objective_usd : float
        E[C] (+ lambda * CVaR) of the decision ($), the upper bound.
    lower_bound_usd : float
        A proven lower bound on the optimal objective ($).
    engine : str
    iterations : int
        The engine's iterations: master solves of the decomposition (1 without DR
        commitments), PH iterations of mpisppy, 1 for the extensive form.
    record : dict
        Timings (s), sizes and per-iteration bounds.
    """

    product_mw: np.ndarray
    dr_by_period_mw: np.ndarray
    operating_cost_usd: np.ndarray
    scenario_cost_usd: np.ndarray
    objective_usd: float
    lower_bound_usd: float
    engine: str
    iterations: int
    record: dict

    @property
    def relative_gap(self) -> float:
        """(upper - lower bound) / max(1, |upper bound|); 0 when the bounds cross by rounding."""
        gap = self.objective_usd - self.lower_bound_usd
        return max(gap, 0.0) / max(1.0, abs(self.objective_usd))


class MasterAssembly(Assembly):
    """An ``Assembly`` of the master: the term's problem, its periods, and the master families."""

    def __init__(self, term: TermProblem, options: SolveOptions, *, build: bool) -> None:
        super().__init__(term.problem, options, build=build)
        self.term = term


def define_first_stage(a: MasterAssembly) -> None:
    """MW committed to each DR/AS product per period (together within what can be curtailed),
    and the operating cost of each scenario (k$)."""
    term = a.term
    y = a.add_cols("y", (a.problem.n_dr, term.n_periods), 0.0, term.dr_cap_mw())
    if term.commits_dr:
        room = a.add_rows("drroom", (term.n_periods,), -np.inf, term.dr_room_mw())
        a.put(a.idx(room)[None, :], a.idx(y), 1.0)
    a.add_cols("theta", (a.problem.n_scenarios,), -np.inf, np.inf)


def define_term_cost(a: MasterAssembly) -> None:
    """c_s = theta_s + H_s(x), one equality row per scenario."""
    s_n = a.problem.n_scenarios
    c = a.add_cols("c", (s_n,), -np.inf, np.inf, np.asarray(a.problem.probabilities, float))
    row = a.idx(a.add_rows("cost", (s_n,), 0.0, 0.0))
    a.put(row, a.idx(c), 1.0)
    a.put(row, a.idx(a.cols["theta"]), -1.0)
    put_hedge_cash(a, row)


MASTER = (
    define_hedges,
    define_hedge_ratio,
    define_first_stage,
    define_term_cost,
    define_cvar,
    define_budget,
)
"""The master's families, in layout order."""


def build_master(term: TermProblem, options: SolveOptions) -> LinearProgram:
    start = time.perf_counter()
    a = MasterAssembly(term, options, build=True)
    for family in MASTER:
        family(a)
    return a.linear_program(start)


def master_size(term: TermProblem, options: SolveOptions) -> dict[str, int]:
    a = MasterAssembly(term, options, build=False)
    for family in MASTER:
        family(a)
    return {"columns": a.cols.n, "rows": a.rows.n, "nonzeros": a.nonzeros}


def term_size(term: TermProblem, options: SolveOptions) -> dict:
    """Sizes before any build: the master, the largest operations subproblem, and the extensive
    form (master + S subproblems + links), each with columns, rows, nonzeros and an estimate of
    the memory (MB) to hold and solve it."""
    master = master_size(term, options)
    p = term.problem
    s_n = p.n_scenarios
    if term.commits_dr:  # calls of offered products [A, S, T] and the (s, t) cells they fall in
        called = p.dr_deployed & (p.dr_max_mw > 0)[:, None, None]
        calls, cells = called.sum(axis=(0, 2)), called.any(axis=0).sum(axis=1)
    else:
        calls = cells = np.zeros(s_n, dtype=np.int64)
    base, per_call, per_cell = _operations_size_terms(term, options)
    worst = int(np.argmax(calls))
    one = {k: base[k] + per_call[k] * calls[worst] + per_cell[k] * cells[worst] for k in base}
    links = s_n * (1 + (p.n_dr * p.n_intervals if term.commits_dr else 0))
    ef = {
        k: int(master[k] + s_n * base[k] + per_call[k] * calls.sum() + per_cell[k] * cells.sum())
        for k in base
    }
    ef["rows"] += links
    ef["nonzeros"] += 2 * links
    out = {"master": master, "subproblem": one, "extensive_form": ef}
    for part in out.values():
        part["memory_mb"] = round(memory_mb(part), 1)
    return out


def _operations_size_terms(term: TermProblem, options: SolveOptions) -> tuple[dict, dict, dict]:
    """An operations subproblem's size is linear in its calls and in the (s, t) cells they fall
    in (a shortfall per call, a delivery row per cell): the size without calls and the two
    coefficients, from ``model_size`` of one scenario with no call, one call, and (with several
    products) two calls in one cell."""
    keys = ("columns", "rows", "nonzeros")
    calm = term.operations(0)
    offered = np.flatnonzero(term.problem.dr_max_mw > 0)

    def size(products: np.ndarray) -> dict:
        calls = np.zeros_like(calm.dr_deployed)
        calls[products, 0, 0] = True
        counted = model_size(dataclasses.replace(calm, dr_deployed=calls), options, OPERATIONS)
        return {k: counted[k] for k in keys}

    base = size(offered[:0])
    if offered.size == 0:
        return base, dict.fromkeys(keys, 0), dict.fromkeys(keys, 0)
    one = size(offered[:1])  # one call, one cell
    if offered.size == 1:  # a call per cell: the cells' share is counted with the calls
        return base, {k: one[k] - base[k] for k in keys}, dict.fromkeys(keys, 0)
    two = size(offered[:2])  # two calls, one cell
    per_call = {k: two[k] - one[k] for k in keys}
    return base, per_call, {k: one[k] - base[k] - per_call[k] for k in keys}


MEMORY_SHARE = 0.75
"""The extensive form is refused when its memory estimate exceeds this share of the machine's."""


def physical_memory_mb() -> float:
    """This machine's physical memory (MB)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e6


def check_extensive_size(size: dict, options: SolveOptions) -> None:
    """Refuse an extensive form (``term_size(...)["extensive_form"]``) above the nonzero limit
    or a share of this machine's memory, naming the engine that solves it."""
    memory = physical_memory_mb()
    if size["nonzeros"] > options.max_nonzeros or size["memory_mb"] > MEMORY_SHARE * memory:
        raise SolverError(
            f"the term extensive form would have {size['columns']:,} columns, {size['rows']:,} "
            f"rows and {size['nonzeros']:,} nonzeros (about {size['memory_mb']:,.0f} MB), above "
            f"the limit of {options.max_nonzeros:,} nonzeros or {MEMORY_SHARE:.0%} of this "
            f"machine's {memory:,.0f} MB; use --engine decomposed (or mpisppy under mpiexec), "
            "which solves each scenario's operations on its own"
        )


def memory_mb(size: dict) -> float:
    """Estimated MB to hold and solve an LP of ``size`` (see ``BYTES_PER_NONZERO``)."""
    n = size["nonzeros"] * BYTES_PER_NONZERO + (size["rows"] + size["columns"]) * (
        BYTES_PER_ROW_OR_COLUMN
    )
    return n / 1e6


class OperationsSolver:
    """Solves the operations subproblems of some scenarios, each restarted from its last basis."""

    def __init__(self, term: TermProblem, options: SolveOptions, scenarios: np.ndarray) -> None:
        self.term = term
        self.options = options
        self.scenarios = np.asarray(scenarios, dtype=np.int64)
        self.bases: dict[int, object] = {}
        self.simplex_iterations = 0

    def solve(self, dr_by_period_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Q_s ($, [n]) and its subgradient in the commitment ($/MW, [n, A * P], product-major)."""
        term = self.term
        hourly = term.hourly_dr_mw(dr_by_period_mw)
        q = np.empty(self.scenarios.size)
        g = np.zeros((self.scenarios.size, term.problem.n_dr * term.n_periods))
        month = np.eye(term.n_periods)[term.period_of_interval]  # [T, P] one-hot
        for i, s in enumerate(self.scenarios):
            lp = build_lp(term.operations(int(s)), self.options, OPERATIONS)
            runner = HighsRunner(lp, self.options.highs_options, self.options.time_limit_s)
            if "r" in lp.cols:
                runner.fix_columns(lp.cols["r"].idx, hourly)
            if int(s) in self.bases:
                runner.set_basis(self.bases[int(s)])
            result = runner.run()
            if not result.optimal:
                raise SolverError(
                    f"operations of scenario {int(s)}: HiGHS {result.status}; the campus cannot "
                    "operate that path with the DR committed (or the time limit is too short)"
                )
            self.bases[int(s)] = runner.basis()
            self.simplex_iterations += result.record["iterations"]["simplex"]
            q[i] = result.record["objective"] * COST_UNIT_USD
            if "r" in lp.cols:
                reduced = lp.cols["r"].take(result.col_dual) * COST_UNIT_USD  # [A, T]
                g[i] = (reduced @ month).ravel()
        return q, g


class ScenarioBundles:
    """The scenarios split among MPI ranks (``ranks``), and each rank's share into ``workers``
    bundles, each solved by its own process (kept for the whole run, so each bundle's bases
    stay where they are used). Every rank calls ``solve`` with the same commitment and gets
    every scenario's results."""

    def __init__(
        self,
        term: TermProblem,
        options: SolveOptions,
        workers: int = 1,
        ranks: Ranks | None = None,
    ) -> None:
        self.ranks = ranks or Ranks()
        mine = np.array_split(np.arange(term.problem.n_scenarios), self.ranks.size)[self.ranks.rank]
        self.workers = max(1, min(int(workers), mine.size))
        self.bundles = np.array_split(mine, self.workers)
        self._local = None
        self._pipes = []
        self._processes = []
        if self.workers == 1:
            self._local = OperationsSolver(term, options, self.bundles[0])
            return
        context = multiprocessing.get_context("fork")
        for bundle in self.bundles:
            parent, child = context.Pipe()
            process = context.Process(
                target=_serve_bundle, args=(child, term, options, bundle), daemon=True
            )
            process.start()
            child.close()
            self._pipes.append(parent)
            self._processes.append(process)

    def solve(self, dr_by_period_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Q ($, [S]) and subgradients ($/MW, [S, A * P]) of every scenario at the commitment."""
        dr = np.asarray(self.ranks.share(dr_by_period_mw), dtype=float)
        parts = self.ranks.gather_each(lambda: self._solve_mine(dr))
        return np.concatenate([q for q, _ in parts]), np.concatenate([g for _, g in parts])

    def _solve_mine(self, dr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._local is not None:
            return self._local.solve(dr)
        for pipe in self._pipes:
            pipe.send(dr)
        parts = [pipe.recv() for pipe in self._pipes]
        for part in parts:
            if isinstance(part, str):
                raise SolverError(part)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def close(self) -> None:
        for pipe in self._pipes:
            pipe.send(None)
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()

    def __enter__(self) -> ScenarioBundles:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve_bundle(pipe, term: TermProblem, options: SolveOptions, bundle: np.ndarray) -> None:
    solver = OperationsSolver(term, options, bundle)
    while (dr := pipe.recv()) is not None:
        try:
            pipe.send(solver.solve(dr))
        except Exception as exc:  # the parent raises it with its text
            pipe.send(f"{type(exc).__name__}: {exc}")


def operating_costs(
    term: TermProblem,
    dr_by_period_mw: np.ndarray,
    options: SolveOptions,
    *,
    workers: int = 1,
    ranks: Ranks | None = None,
) -> np.ndarray:
    """Q_s of every scenario at the commitment [A, P] ($, [S]): by the real-time ladder on the
    full schedule when the term is hour-separable (the same least cost, computed in vectorised
    chunks), else by each scenario's operations LP across ``ranks`` and ``workers``
    processes."""
    if term.hour_separable:
        p = term.problem
        decision = Decision(
            product_mw=np.zeros(0),
            schedule_mw=np.array([np.asarray(f.max_mw, dtype=float) for f in p.flex]).reshape(
                len(p.flex), p.n_intervals
            ),
            dr_mw=term.hourly_dr_mw(dr_by_period_mw),
        )
        return cost_breakdown(dataclasses.replace(p, products=()), decision).total_cost_usd
    with ScenarioBundles(term, options, workers, ranks) as bundles:
        return bundles.solve(dr_by_period_mw)[0]


def solve_decomposed(
    term: TermProblem,
    options: SolveOptions,
    *,
    workers: int = 1,
    relative_gap: float = 1e-6,
    max_iterations: int = 200,
    start_dr_mw: np.ndarray | None = None,
    say: Callable[[str], None] | None = None,
    ranks: Ranks | None = None,
) -> TermSolution:
    """The term decision by decomposition over scenarios (module docstring).

    ``say`` receives one progress line per iteration (bounds, gap, seconds so far). Under MPI
    (``ranks``) every rank runs this loop on the same commitments (rank 0's) and solves its
    share of the scenarios.

    ``start_dr_mw`` [A, P] is the first commitment tried (e.g. last night's; ignored when its
    shape differs); without it the scenarios are first solved with nothing committed.
    """
    started = time.perf_counter()
    lp = build_master(term, options)
    master = HighsRunner(lp, options.highs_options, options.time_limit_s)
    hedging = HighsRunner(lp, options.highs_options, options.time_limit_s)  # never gets cuts
    cap = term.dr_cap_mw()
    y = np.zeros_like(cap)
    if start_dr_mw is not None and np.shape(start_dr_mw) == cap.shape:
        y = term.within_room(np.clip(start_dr_mw, 0.0, cap))
    history, sub_s, master_s = [], 0.0, 0.0
    best = None
    with ScenarioBundles(term, options, workers, ranks) as bundles:
        for iteration in range(1, max_iterations + 1):
            t0 = time.perf_counter()
            q, g = bundles.solve(y)
            sub_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            upper, values = _upper_bound(hedging, lp, y, q)
            if best is None or upper < best[0]:
                best = (upper, values, y.copy(), q)
            if not term.commits_dr:
                lower = upper
            else:
                _add_cuts(master, lp, q, g, y)
                result = master.run()
                if not result.optimal:
                    raise SolverError(f"term master: HiGHS {result.status}")
                lower = objective_k_usd(lp, result.record["objective"], result.values)
                lower *= COST_UNIT_USD
                y = term.within_room(np.clip(lp.cols["y"].take(result.values), 0.0, cap))
            master_s += time.perf_counter() - t0
            history.append({"iteration": iteration, "lower_usd": lower, "upper_usd": best[0]})
            if say is not None:
                gap = max(best[0] - lower, 0.0) / max(1.0, abs(best[0]))
                say(
                    f"decomposed: iteration {iteration}, bounds ${lower:,.0f} .. ${best[0]:,.0f} "
                    f"(gap {gap:.1e}), {time.perf_counter() - started:.0f} s"
                )
            if np.isfinite(best[0]) and best[0] - lower <= relative_gap * max(1.0, abs(best[0])):
                break
        workers_used = bundles.workers
    upper, values, y_best, q_best = best
    if values is None:
        raise SolverError(
            "no commitment tried meets the CVaR budget; raise the budget or allow more iterations"
        )
    return term_solution(
        term,
        product_mw_of(term, lp, values),
        y_best,
        q_best,
        objective=upper,
        lower=history[-1]["lower_usd"],
        engine="decomposed",
        record={
            "iterations": history,
            "workers": workers_used,
            "ranks": bundles.ranks.size,
            "subproblem_s": round(sub_s, 3),
            "master_s": round(master_s, 3),
            "total_s": round(time.perf_counter() - started, 3),
        },
    )


def _upper_bound(hedging: HighsRunner, lp: LinearProgram, y: np.ndarray, q: np.ndarray):
    """The best hedge at commitment ``y`` with the true operating costs ``q``: objective ($)
    and the master's values (inf and None when no hedge meets the CVaR budget there).
    ``hedging`` holds the master without cuts, which a Q computed to the LP's tolerance could
    violate by a hair."""
    hedging.fix_columns(lp.cols["y"].idx, y)
    hedging.fix_columns(lp.cols["theta"].idx, q / COST_UNIT_USD)
    result = hedging.run()
    if result.infeasible and "budget" in lp.rows:
        return np.inf, None  # no hedge meets the CVaR budget at this commitment
    if not result.optimal:
        raise SolverError(f"term hedge problem at fixed operations: HiGHS {result.status}")
    objective = objective_k_usd(lp, result.record["objective"], result.values) * COST_UNIT_USD
    return objective, result.values.copy()


def _add_cuts(
    master: HighsRunner, lp: LinearProgram, q: np.ndarray, g: np.ndarray, y: np.ndarray
) -> None:
    """theta_s - g_s . y' >= Q_s(y) - g_s . y for every scenario (k$)."""
    s_n, p_n = g.shape
    theta, y_cols = lp.cols["theta"].idx, lp.cols["y"].idx.ravel()
    rows = np.repeat(np.arange(s_n), 1 + p_n)
    cols = np.concatenate([theta[:, None], np.broadcast_to(y_cols, (s_n, p_n))], axis=1).ravel()
    vals = np.concatenate([np.ones((s_n, 1)), -g / COST_UNIT_USD], axis=1).ravel()
    matrix = sparse.csr_array((vals, (rows, cols)), shape=(s_n, lp.cols.n))
    lower = (q - g @ y.ravel()) / COST_UNIT_USD
    master.add_rows(lower, np.full(s_n, np.inf), matrix)


def solve_extensive(term: TermProblem, options: SolveOptions) -> TermSolution:
    """The term decision from one LP: the master and every scenario's operations together."""
    started = time.perf_counter()
    check_extensive_size(term_size(term, options)["extensive_form"], options)
    lp = extensive_form(term, options)
    runner = HighsRunner(lp, options.highs_options, options.time_limit_s)
    result = runner.run()
    if not result.optimal:
        raise SolverError(f"term extensive form: HiGHS {result.status}")
    objective = objective_k_usd(lp, result.record["objective"], result.values) * COST_UNIT_USD
    values = result.values
    q = lp.cols["theta"].take(values) * COST_UNIT_USD
    record = {"solve": result.record, "total_s": round(time.perf_counter() - started, 3)}
    record.update(columns=lp.cols.n, rows=lp.rows.n, nonzeros=lp.structural_nonzeros)
    y = lp.cols["y"].take(values).copy()
    return term_solution(
        term,
        product_mw_of(term, lp, values),
        y,
        q,
        objective=objective,
        lower=objective,
        engine="ef",
        record=record,
    )


def extensive_form(term: TermProblem, options: SolveOptions) -> LinearProgram:
    """The master's columns and rows, then each scenario's operations LP (its own c at zero
    cost), then the links theta_s = c of copy s and r_st = y_period(t)."""
    start = time.perf_counter()
    master = build_master(term, options)
    copies = [
        build_lp(term.operations(s), options, OPERATIONS) for s in range(term.problem.n_scenarios)
    ]
    offsets = master.cols.n + np.cumsum([0] + [c.cols.n for c in copies])
    # each link row: +1 on its first-stage column, -1 on the copy's column
    first = [master.cols["theta"].idx]
    copy_side = [offsets[:-1] + np.array([c.cols["c"].idx[0] for c in copies])]
    if term.commits_dr:
        committed = master.cols["y"].idx[:, term.period_of_interval].ravel()  # [A * T]
        first.append(np.tile(committed, len(copies)))
        pairs = zip(offsets[:-1], copies, strict=True)
        copy_side += [o + c.cols["r"].idx.ravel() for o, c in pairs]
    first, copy_side = np.concatenate(first), np.concatenate(copy_side)
    n_links, n_cols = first.size, int(offsets[-1])
    link_rows = np.repeat(np.arange(n_links), 2)
    link_cols = np.column_stack([first, copy_side]).ravel()
    link_vals = np.tile([1.0, -1.0], n_links)
    links = sparse.csc_array((link_vals, (link_rows, link_cols)), shape=(n_links, n_cols))
    blocks = sparse.block_diag([master.matrix] + [c.matrix for c in copies], format="csc")
    matrix = sparse.vstack([blocks, links], format="csc")
    copy_cost = [np.zeros(c.cols.n) for c in copies]  # each copy's c is priced in the master
    cols, rows = Layout(), Layout()
    for name, block in master.cols.blocks.items():
        cols.add(name, block.shape)
    cols.add("operations", (n_cols - master.cols.n,))
    for name, block in master.rows.blocks.items():
        rows.add(name, block.shape)
    rows.add("operations", (blocks.shape[0] - master.rows.n,))
    rows.add("links", (n_links,))
    return LinearProgram(
        np.concatenate([master.cost, *copy_cost]),
        np.concatenate([master.col_lower, *(c.col_lower for c in copies)]),
        np.concatenate([master.col_upper, *(c.col_upper for c in copies)]),
        matrix,
        np.concatenate([master.row_lower, *(c.row_lower for c in copies), np.zeros(n_links)]),
        np.concatenate([master.row_upper, *(c.row_upper for c in copies), np.zeros(n_links)]),
        cols,
        rows,
        int(matrix.nnz),
        time.perf_counter() - start,
    )


def term_solution(
    term: TermProblem,
    product_mw: np.ndarray,
    dr_by_period_mw: np.ndarray,
    operating_cost_usd: np.ndarray,
    *,
    objective: float,
    lower: float,
    engine: str,
    record: dict,
) -> TermSolution:
    """A ``TermSolution`` from the first stage, the operating costs Q_s ($) and the bounds ($)."""
    q = np.asarray(operating_cost_usd, dtype=float)
    cash = product_cash_usd(term.problem, product_mw).sum(axis=1)
    iterations = len(record["iterations"]) if "iterations" in record else 1
    return TermSolution(
        product_mw=np.asarray(product_mw, dtype=float),
        dr_by_period_mw=np.asarray(dr_by_period_mw, dtype=float),
        operating_cost_usd=q,
        scenario_cost_usd=q + cash,
        objective_usd=float(objective),
        lower_bound_usd=float(lower),
        engine=engine,
        iterations=iterations,
        record=record,
    )


def product_mw_of(term: TermProblem, lp: LinearProgram, values: np.ndarray) -> np.ndarray:
    """Net MW of each product (bought minus sold) from the values of an LP with the master's
    ``xb`` and ``xs`` columns (the master, the extensive form, a day-ahead LP of the term)."""
    traded = lp.cols["xb"].take(values).copy()
    traded[hedge_bounds(*product_limits(term.problem))[2]] -= lp.cols["xs"].take(values)
    return traded
