"""A fleet decision priced on scenarios with every campus's real-time ladder.

Each campus's decision is priced by ``model.cost.cost_breakdown`` (the one scenario cost model)
on its own problem; the fleet adds the migration cost and removes the value offset of the
movable classes (``FleetProblem.value_offset_usd``), so each class's value lost counts once:

    fleet cost_s      = sum_campus C_s + migration - offset                      ($)
    fleet cash cost_s = sum_campus (C_s - value lost_s) + migration              ($)
    cost per GPU-hour = fleet cost_s / fleet GPU-hours_s                          ($/GPU-h)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from energyhedge.fleet.lp import FleetProblem, FleetSolution
from energyhedge.model.cost import CostBreakdown, cost_breakdown, real_time_power_mw


@dataclass(frozen=True)
class FleetValuation:
    """Fleet figures per scenario ([S]) and where the movable work ran.

    ``site_gpu_hours[class]`` is [sites, S]: GPU-hours of the class's work delivered at each of
    its sites (home first) in each scenario.
    """

    cost_usd: np.ndarray
    cash_cost_usd: np.ndarray
    gpu_hours: np.ndarray
    by_campus: dict[str, CostBreakdown]
    site_gpu_hours: dict[str, np.ndarray]

    @property
    def cost_per_gpu_hour_usd(self) -> np.ndarray:
        return self.cost_usd / self.gpu_hours


def value_fleet(fp: FleetProblem, solution: FleetSolution) -> FleetValuation:
    """Price ``solution`` on ``fp``'s scenarios (the ladder decides real-time power)."""
    by_campus = {
        name: cost_breakdown(problem, solution.decisions[name])
        for name, problem in fp.problems.items()
    }
    total = sum(b.total_cost_usd for b in by_campus.values())
    lost = sum(b.value_lost_usd for b in by_campus.values())
    gpu = sum(b.gpu_hours for b in by_campus.values())
    h = np.asarray(fp.first.interval_hours, dtype=float)
    site_work = {}
    for m in fp.movable:
        rows = []
        for site in m.sites:
            problem, j = fp.problems[site], fp.class_index(site, m.name)
            power = real_time_power_mw(problem, solution.decisions[site])[j]  # [S, T]
            rows.append(problem.flex[j].gpu_hours_per_mwh * (power @ h))
        site_work[m.name] = np.array(rows)
    return FleetValuation(
        cost_usd=total + solution.migration_usd - fp.value_offset_usd(),
        cash_cost_usd=total - lost + solution.migration_usd,
        gpu_hours=gpu,
        by_campus=by_campus,
        site_gpu_hours=site_work,
    )
