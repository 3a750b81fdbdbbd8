"""The HiGHS call: one ``passModel`` of the whole LP, a time limit, a fallback algorithm.

A model with integer columns (the commitment of committed job classes) is solved in three
steps on the same instance: its LP relaxation (the bound the MIP gap is measured against), the
MIP within the relative gap and time limit, and the LP with the integer columns fixed at the
MIP's values, whose duals are the by-products' shadow prices given the commitment (a MIP has
none). This is the only module that imports ``highspy``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from energyhedge.errors import SolverError
from energyhedge.optimize.lp import LinearProgram
from energyhedge.optimize.options import SolveOptions

_STATUS = highspy.HighsModelStatus
_STOPPED = {_STATUS.kTimeLimit, _STATUS.kIterationLimit, _STATUS.kInterrupt}
_FINAL = {_STATUS.kOptimal, _STATUS.kInfeasible, _STATUS.kUnbounded, _STATUS.kUnboundedOrInfeasible}


@dataclass(frozen=True)
class LpResult:
    """Primal values, duals and the solver record of one solve.

    ``status`` is HiGHS's model status text ("Optimal", "Time limit reached", "Infeasible", ...);
    ``infeasible`` / ``unbounded`` are True when HiGHS proved (or could not tell apart) those
    cases; ``row_dual[i]`` is d(objective)/d(bound of row i) for a binding row. For a MIP,
    ``status`` is the MIP's, values and duals are those of the LP with the integers fixed at
    the MIP's values, ``record["commitment"]`` holds the MIP's gap, bound and node count, and
    ``relaxation`` is the LP relaxation's result.
    """

    status: str
    values: np.ndarray
    row_dual: np.ndarray
    col_dual: np.ndarray
    record: dict
    infeasible: bool = False
    unbounded: bool = False
    relaxation: LpResult | None = None

    @property
    def optimal(self) -> bool:
        return self.status == "Optimal"


class HighsRunner:
    """Holds one HiGHS instance with the LP loaded, so that re-solves after changes start warm.

    Parameters
    ----------
    lp : LinearProgram
    highs_options : dict
        HiGHS options applied verbatim (e.g. ``{"solver": "ipm"}``).
    time_limit_s : float
        Limit of every HiGHS call (s).
    mip_rel_gap : float
        Relative gap at which the MIP stops (models with integer columns only).
    """

    def __init__(
        self,
        lp: LinearProgram,
        highs_options: dict,
        time_limit_s: float,
        mip_rel_gap: float = SolveOptions.mip_rel_gap,
    ) -> None:
        self.lp = lp
        self.options = {"output_flag": False, **highs_options, "time_limit": float(time_limit_s)}
        if lp.integer.size:
            self.options["mip_rel_gap"] = float(mip_rel_gap)
        with _without_banner():
            self.highs = highspy.Highs()
        self._apply(self.options)
        model = highspy.HighsLp()
        model.num_col_ = lp.cols.n
        model.num_row_ = lp.rows.n
        model.col_cost_ = lp.cost
        model.col_lower_ = lp.col_lower
        model.col_upper_ = lp.col_upper
        model.row_lower_ = lp.row_lower
        model.row_upper_ = lp.row_upper
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = lp.matrix.indptr
        model.a_matrix_.index_ = lp.matrix.indices
        model.a_matrix_.value_ = lp.matrix.data
        if lp.integer.size:
            kinds = np.full(lp.cols.n, highspy.HighsVarType.kContinuous)
            kinds[lp.integer] = highspy.HighsVarType.kInteger
            model.integrality_ = kinds.tolist()
        if self.highs.passModel(model) == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the model (passModel failed)")

    @classmethod
    def for_options(cls, lp: LinearProgram, options: SolveOptions) -> HighsRunner:
        """A runner with the HiGHS options, time limit and MIP gap of ``options``."""
        return cls(lp, options.highs_options, options.time_limit_s, options.mip_rel_gap)

    def change_costs(self, cols: np.ndarray, costs: np.ndarray) -> None:
        """Set objective coefficients of the given columns."""
        cols = np.asarray(cols, dtype=np.int32).ravel()
        self.highs.changeColsCost(cols.size, cols, np.asarray(costs, dtype=float).ravel())

    def fix_columns(self, cols: np.ndarray, values: np.ndarray) -> None:
        """Fix the given columns at ``values`` (both bounds)."""
        self.set_bounds(cols, values, values)

    def set_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Set both bounds of the given columns (bounds broadcast to their shape)."""
        shape = np.shape(cols)
        cols = np.asarray(cols, dtype=np.int32).ravel()
        lo, hi = (np.broadcast_to(np.asarray(v, float), shape).ravel() for v in (lower, upper))
        self.highs.changeColsBounds(
            cols.size, cols, np.ascontiguousarray(lo), np.ascontiguousarray(hi)
        )

    def add_rows(self, lower: np.ndarray, upper: np.ndarray, matrix: sparse.csr_array) -> None:
        """Append rows ``lower <= matrix @ v <= upper`` (``matrix`` over all columns)."""
        matrix = sparse.csr_array(matrix)
        self.highs.addRows(
            matrix.shape[0],
            np.asarray(lower, dtype=float),
            np.asarray(upper, dtype=float),
            matrix.nnz,
            matrix.indptr[:-1].astype(np.int32),
            matrix.indices.astype(np.int32),
            matrix.data.astype(float),
        )

    def basis(self):
        """A copy of the current basis (an opaque HiGHS object), to restart a model of the same
        shape from with ``set_basis``."""
        return self.highs.getBasis()

    def set_basis(self, basis) -> None:
        """Start the next ``run`` from a basis kept by ``basis``."""
        if self.highs.setBasis(basis) == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected a kept basis (the model changed shape)")

    def run(self) -> LpResult:
        """Solve; on numerical trouble retry once with the other algorithm (IPM <-> simplex).

        Raises SolverError when no usable solution exists (failure, or a stop with no feasible
        point). A stop at the time limit with a feasible point returns it with its status.
        A model with integer columns is solved as the module docstring says.
        """
        if not self.lp.integer.size:
            return self._run_lp()
        cols = self.lp.integer.astype(np.int32)
        self._set_integrality(cols, highspy.HighsVarType.kContinuous)
        relaxation = self._run_lp()
        if relaxation.infeasible or relaxation.unbounded:
            self._set_integrality(cols, highspy.HighsVarType.kInteger)
            return relaxation
        self._set_integrality(cols, highspy.HighsVarType.kInteger)
        start = time.perf_counter()
        self.highs.run()
        mip_s = time.perf_counter() - start
        status = self.highs.getModelStatus()
        mip = self._result(status, mip_s, "mip", [f"mip: {self.highs.modelStatusToString(status)}"])
        if mip.infeasible or mip.unbounded:
            return mip
        info = self.highs.getInfo()
        commitment = {
            "mip_rel_gap": self.options["mip_rel_gap"],
            "mip_gap": float(info.mip_gap),
            "mip_dual_bound": float(info.mip_dual_bound),
            "mip_objective": mip.record["objective"],
            "mip_nodes": int(info.mip_node_count),
            "mip_solve_s": round(mip_s, 6),
            "relaxation_objective": relaxation.record["objective"],
            "relaxation_solve_s": relaxation.record["solve_s"],
            "integer_columns": int(cols.size),
        }
        fixed_at = np.round(mip.values[cols])
        self._set_integrality(cols, highspy.HighsVarType.kContinuous)
        self.highs.changeColsBounds(cols.size, cols, fixed_at, fixed_at)
        try:
            fixed = self._run_lp()
        finally:
            self.highs.changeColsBounds(
                cols.size, cols, self.lp.col_lower[cols], self.lp.col_upper[cols]
            )
            self._set_integrality(cols, highspy.HighsVarType.kInteger)
        if not fixed.optimal:
            raise SolverError(
                f"the LP with the day-ahead commitment fixed at the MIP's solution did not solve "
                f"({fixed.status}); raise the time limit (now {self.options['time_limit']:g} s)"
            )
        commitment["fixed_lp_solve_s"] = fixed.record["solve_s"]
        record = {
            **fixed.record,
            "status": mip.status,
            "attempts": mip.record["attempts"] + fixed.record["attempts"],
            "solve_s": round(relaxation.record["solve_s"] + mip_s + fixed.record["solve_s"], 6),
            "commitment": commitment,
        }
        return LpResult(
            mip.status, fixed.values, fixed.row_dual, fixed.col_dual, record, relaxation=relaxation
        )

    def _set_integrality(self, cols: np.ndarray, kind) -> None:
        kinds = np.full(cols.size, int(kind), dtype=np.uint8)
        self.highs.changeColsIntegrality(cols.size, cols, kinds)

    def _run_lp(self) -> LpResult:
        """One LP solve with the algorithm fallback of ``run``."""
        first = str(self.options.get("solver", "choose"))
        attempts = [first, "simplex" if first in ("ipm", "hipo", "ipx", "pdlp") else "ipm"]
        tried = []
        for algorithm in attempts:
            self._apply({"solver": algorithm})
            start = time.perf_counter()
            self.highs.run()
            solve_s = time.perf_counter() - start
            status = self.highs.getModelStatus()
            tried.append(f"{algorithm}: {self.highs.modelStatusToString(status)}")
            if status in _FINAL or status in _STOPPED:
                break
        self._apply({"solver": first})
        return self._result(status, solve_s, algorithm, tried)

    def _result(self, status, solve_s: float, algorithm: str, tried: list[str]) -> LpResult:
        info = self.highs.getInfo()
        text = self.highs.modelStatusToString(status)
        feasible = info.primal_solution_status == highspy.kSolutionStatusFeasible
        if status not in _FINAL and not (status in _STOPPED and feasible):
            raise SolverError(
                f"HiGHS stopped without a usable solution ({'; '.join(tried)}); "
                f"raise the time limit (now {self.options['time_limit']:g} s) or simplify the run"
            )
        solution = self.highs.getSolution()
        record = {
            "solver": "HiGHS",
            "highs_version": self.highs.version(),
            "options": {**self.options, "solver": algorithm},
            "status": text,
            "attempts": tried,
            "objective": float(info.objective_function_value),
            "primal_infeasibility": float(info.max_primal_infeasibility),
            "dual_infeasibility": float(info.max_dual_infeasibility),
            "iterations": {
                "simplex": int(info.simplex_iteration_count),
                "ipm": int(info.ipm_iteration_count),
                "crossover": int(info.crossover_iteration_count),
            },
            "build_s": round(self.lp.build_s, 6),
            "solve_s": round(solve_s, 6),
        }
        either = status == _STATUS.kUnboundedOrInfeasible
        return LpResult(
            text,
            np.asarray(solution.col_value, dtype=float),
            np.asarray(solution.row_dual, dtype=float),
            np.asarray(solution.col_dual, dtype=float),
            record,
            infeasible=status == _STATUS.kInfeasible or either,
            unbounded=status == _STATUS.kUnbounded or either,
        )

    def _apply(self, options: dict) -> None:
        for key, value in options.items():
            if self.highs.setOptionValue(key, value) == highspy.HighsStatus.kError:
                raise SolverError(f"HiGHS option {key} = {value!r} is not valid")


@contextlib.contextmanager
def _without_banner():
    """Discard the banner HiGHS prints on stdout when created (cron mails any output).

    The HiGHS version is kept in the solver record instead.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
