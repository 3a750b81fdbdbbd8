"""The HiGHS call: one ``passModel`` of the whole LP, a time limit, a fallback algorithm.

This is the only module that imports ``highspy``.
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

_STATUS = highspy.HighsModelStatus
_STOPPED = {_STATUS.kTimeLimit, _STATUS.kIterationLimit, _STATUS.kInterrupt}
_FINAL = {_STATUS.kOptimal, _STATUS.kInfeasible, _STATUS.kUnbounded, _STATUS.kUnboundedOrInfeasible}


@dataclass(frozen=True)
class LpResult:
    """Primal values, duals and the solver record of one solve.

    ``status`` is HiGHS's model status text ("Optimal", "Time limit reached", "Infeasible", ...);
    ``infeasible`` / ``unbounded`` are True when HiGHS proved (or could not tell apart) those
    cases; ``row_dual[i]`` is d(objective)/d(bound of row i) for a binding row.
    """

    status: str
    values: np.ndarray
    row_dual: np.ndarray
    col_dual: np.ndarray
    record: dict
    infeasible: bool = False
    unbounded: bool = False

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
        Limit of every ``run`` (s).
    """

    def __init__(self, lp: LinearProgram, highs_options: dict, time_limit_s: float) -> None:
        self.lp = lp
        self.options = {"output_flag": False, **highs_options, "time_limit": float(time_limit_s)}
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
        if self.highs.passModel(model) == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the model (passModel failed)")

    def change_costs(self, cols: np.ndarray, costs: np.ndarray) -> None:
        """Set objective coefficients of the given columns."""
        cols = np.asarray(cols, dtype=np.int32).ravel()
        self.highs.changeColsCost(cols.size, cols, np.asarray(costs, dtype=float).ravel())

    def fix_columns(self, cols: np.ndarray, values: np.ndarray) -> None:
        """Fix the given columns at ``values`` (both bounds)."""
        self.set_bounds(cols, values, values)

    def set_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Set both bounds of the given columns."""
        cols = np.asarray(cols, dtype=np.int32).ravel()
        lo, hi = (np.broadcast_to(np.asarray(v, float), cols.shape).ravel() for v in (lower, upper))
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
        """
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
