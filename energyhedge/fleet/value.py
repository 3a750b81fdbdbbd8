"""A fleet decision priced on scenarios: the real-time migration rule and each campus's ladder.

Real-time migration (non-anticipative: it uses only the hour's prices). For a movable class
curtailable in real time, with value v ($/GPU-h), the net value of one GPU-hour of its work at
site i in hour t is ``max(v - q_i,t / g_i, 0)``: q the effective price there ($/MWh, energy
plus coincident-peak tag, ``model.cost.effective_price_usd_per_mwh``), g_i its GPU-hours per
MWh at the site, and 0 because the site's ladder pauses it above its break-even. At the start
of each hour, for each pair of sites (i, k) in the fleet file's order, GPUs move from i to k
up to the migration limit left in the hour and the room at k (its capacity within the class's
day-ahead schedule there): first the GPUs placed at i beyond its schedule there (they cannot
run at i this hour) while their net value at k exceeds the migration cost per GPU, then any
GPUs at i while the net value gained over the hour exceeds it. So the day-ahead schedule's
plan is followed, and a spike the plan did not foresee moves work within the limits. A class
moved only by its day-ahead schedule keeps the LP's placement. Each site's ladder then runs what
is placed there: the class's power is the ladder's, capped at its placed GPUs.

Each campus is priced by ``model.cost.cost_breakdown`` (the one scenario cost model) with that
power; the fleet adds the migration cost and removes the value offset of the movable classes
(``FleetProblem.value_offset_usd``), so each class's value lost counts once:

    fleet cost_s      = sum_campus C_s + migration_s - offset                    ($)
    fleet cash cost_s = sum_campus (C_s - value lost_s) + migration_s            ($)
    cost per GPU-hour = fleet cost_s / fleet GPU-hours_s                          ($/GPU-h)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from energyhedge.fleet.lp import FleetProblem, FleetSolution, moves_in_real_time
from energyhedge.fleet.model import MovableClass
from energyhedge.model.cost import (
    CostBreakdown,
    cost_breakdown,
    effective_price_usd_per_mwh,
    real_time_power_mw,
)


@dataclass(frozen=True)
class FleetValuation:
    """Fleet figures per scenario ([S]) and where the movable work ran.

    ``placement_gpus[class]`` is [S, sites, T] (GPUs placed at each site, home first) and
    ``site_gpu_hours[class]`` [sites, S] (GPU-hours of its work delivered at each site).
    """

    cost_usd: np.ndarray
    cash_cost_usd: np.ndarray
    migration_usd: np.ndarray
    gpu_hours: np.ndarray
    by_campus: dict[str, CostBreakdown]
    placement_gpus: dict[str, np.ndarray]
    site_gpu_hours: dict[str, np.ndarray]

    @property
    def cost_per_gpu_hour_usd(self) -> np.ndarray:
        return self.cost_usd / self.gpu_hours


def migration_rule(
    fp: FleetProblem, solution: FleetSolution, c: MovableClass
) -> tuple[np.ndarray, np.ndarray]:
    """Placement [S, sites, T] and GPUs moved [S, T] of class ``c`` (module docstring)."""
    s_n, t_n = fp.first.n_scenarios, fp.first.n_intervals
    n = len(c.sites)
    if not moves_in_real_time(fp, c):
        placed = solution.placement_gpus[c.name]
        moved = solution.moved_gpus[c.name]
        return np.broadcast_to(placed, (s_n, n, t_n)), np.broadcast_to(moved, (s_n, t_n))
    h = np.asarray(fp.first.interval_hours, dtype=float)
    cap = np.array([c.capacity_gpus[s] for s in c.sites], dtype=float)
    net, room = np.zeros((s_n, n, t_n)), np.zeros((n, t_n))
    for i, site in enumerate(c.sites):
        problem = fp.problems[site]
        j = fp.class_index(site, c.name)
        flex = problem.flex[j]
        per_gpu_hour = effective_price_usd_per_mwh(problem) / flex.gpu_hours_per_mwh
        net[:, i, :] = np.maximum(flex.value_usd_per_gpu_hour - per_gpu_hour, 0.0)
        max_mw = np.asarray(flex.max_mw, dtype=float)
        schedule = np.asarray(solution.decisions[site].schedule_mw[j], dtype=float)
        share = np.divide(schedule, max_mw, out=np.zeros(t_n), where=max_mw > 0)
        room[i] = np.minimum(cap[i], share * cap[i])
    placed, moved = np.zeros((s_n, n, t_n)), np.zeros((s_n, t_n))
    y = np.zeros((s_n, n))
    y[:, 0] = c.gpus
    pairs = [(i, k) for i in range(n) for k in range(n) if i != k]
    for t in range(t_n):  # hours in order; every scenario at once
        left = np.full(s_n, c.migration_gpus_per_h * h[t])
        over = np.maximum(y - room[None, :, t], 0.0)  # placed beyond the site's schedule
        for i, k in pairs:
            for gain, source in (
                (net[:, k, t], over[:, i]),  # work that cannot run at i this hour
                (net[:, k, t] - net[:, i, t], y[:, i]),
            ):
                free = np.maximum(room[k, t] - y[:, k], 0.0)
                worth = gain * h[t] > c.migration_usd_per_gpu
                amount = np.where(worth, np.minimum(np.minimum(left, source), free), 0.0)
                y[:, i] -= amount
                y[:, k] += amount
                over[:, i] = np.maximum(over[:, i] - amount, 0.0)
                left -= amount
                moved[:, t] += amount
        placed[:, :, t] = y
    return placed, moved


def migration_ladder(fp: FleetProblem) -> list[dict]:
    """The migration rule as price thresholds, per real-time movable class and ordered pair of
    sites (i, k), for one-hour intervals: with both sites below the class's break-even, work
    moves from i to k when ``q_i > slope x q_k + intercept`` with ``slope = g_i / g_k`` and
    ``intercept = migration cost per GPU x g_i``; with i above its break-even (paused there),
    when ``q_k < g_k x (value - migration cost per GPU)``. Prices in $/MWh."""
    out = []
    for c in fp.movable:
        if not moves_in_real_time(fp, c):
            continue
        flex = {s: fp.problems[s].flex[fp.class_index(s, c.name)] for s in c.sites}
        for i in c.sites:
            for k in c.sites:
                if i == k:
                    continue
                gi, gk = flex[i].gpu_hours_per_mwh, flex[k].gpu_hours_per_mwh
                out.append(
                    {
                        "class": c.name,
                        "from": i,
                        "to": k,
                        "slope": gi / gk,
                        "intercept_usd_per_mwh": c.migration_usd_per_gpu * gi,
                        "from_break_even_usd_per_mwh": flex[i].break_even_usd_per_mwh,
                        "to_at_most_usd_per_mwh": gk
                        * (c.value_usd_per_gpu_hour - c.migration_usd_per_gpu),
                    }
                )
    return out


def value_fleet(fp: FleetProblem, solution: FleetSolution) -> FleetValuation:
    """Price ``solution`` on ``fp``'s scenarios with the migration rule and the ladders."""
    h = np.asarray(fp.first.interval_hours, dtype=float)
    rules = {c.name: migration_rule(fp, solution, c) for c in fp.movable}
    migration = sum(
        (c.migration_usd_per_gpu * rules[c.name][1].sum(axis=1) for c in fp.movable),
        start=np.zeros(fp.first.n_scenarios),
    )
    by_campus, work = (
        {},
        {c.name: np.zeros((len(c.sites), fp.first.n_scenarios)) for c in fp.movable},
    )
    for name, problem in fp.problems.items():
        decision = solution.decisions[name]
        power = real_time_power_mw(problem, decision)  # [J, S, T], the ladder
        for c in fp.movable:
            if name not in c.capacity_gpus:
                continue
            i, j = c.sites.index(name), fp.class_index(name, c.name)
            max_mw = np.asarray(problem.flex[j].max_mw, dtype=float)
            placed_mw = rules[c.name][0][:, i, :] * max_mw / c.capacity_gpus[name]
            power[j] = np.minimum(power[j], placed_mw)
            work[c.name][i] = problem.flex[j].gpu_hours_per_mwh * (power[j] @ h)
        by_campus[name] = cost_breakdown(problem, decision, power_mw=power)
    total = sum(b.total_cost_usd for b in by_campus.values())
    lost = sum(b.value_lost_usd for b in by_campus.values())
    return FleetValuation(
        cost_usd=total + migration - fp.value_offset_usd(),
        cash_cost_usd=total - lost + migration,
        migration_usd=migration,
        gpu_hours=sum(b.gpu_hours for b in by_campus.values()),
        by_campus=by_campus,
        placement_gpus={c.name: rules[c.name][0] for c in fp.movable},
        site_gpu_hours=work,
    )
