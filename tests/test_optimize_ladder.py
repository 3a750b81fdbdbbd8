"""The optimiser's decision follows the real-time ladder, which cannot beat the LP's hindsight."""

from __future__ import annotations

import numpy as np
import pytest

from energyhedge.model.cost import cost_breakdown
from energyhedge.model.measures import risk_measures
from energyhedge.optimize import SolveOptions, solve
from energyhedge.optimize.synthetic import synthetic_problem


@pytest.mark.parametrize("seed", [1, 2])
def test_ladder_objective_is_no_better_than_the_lp_optimum(seed):
    problem = synthetic_problem(24, 20, seed=seed)
    options = SolveOptions(alpha=0.9, cvar_weight=0.5, marginals=False)
    solution = solve(problem, options)
    assert solution.decision.follows_ladder
    ladder = cost_breakdown(problem, solution.decision).total_cost_usd
    m = risk_measures(ladder, problem.probabilities, 0.9)
    ladder_objective = m.expected_usd + 0.5 * m.cvar_usd
    assert ladder_objective >= solution.objective_usd - 1e-6 * abs(solution.objective_usd)
    # the LP's own recourse, priced by the same cost model, is what the objective reports
    lp = risk_measures(solution.scenario_cost_usd, problem.probabilities, 0.9)
    assert lp.expected_usd + 0.5 * lp.cvar_usd == pytest.approx(solution.objective_usd, rel=1e-7)
    assert np.all(ladder >= solution.scenario_cost_usd - 1e-6 * np.abs(ladder))
