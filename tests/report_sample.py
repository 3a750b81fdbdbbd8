"""A hand-built ``ReportData`` for the report and browser tests (no solver, no data files)."""

from __future__ import annotations

import numpy as np

from energyhedge.report.html import (
    BREAKDOWN_LINES,
    AlertRow,
    ChangeRow,
    Changes,
    CostDistribution,
    Frontier,
    HedgeLoad,
    Ladder,
    LadderGap,
    LadderRung,
    PayoffCurve,
    Provenance,
    ReportData,
    RiskTable,
    Schedule,
    StrategyRow,
    StressRow,
    Trade,
)
from energyhedge.risk import STRATEGIES, STRATEGY_LABELS

HOSTILE = "<script>alert(1)</script>"

# Mean cost lines ($, signed as they enter C_s) of none, flexibility only, hedges only, both.
LINES = {
    "energy_cost_usd": (60_000.0, 55_000.0, 60_000.0, 55_000.0),
    "cp_tag_usd": (20_000.0, 16_000.0, 20_000.0, 16_000.0),
    "dr_revenue_usd": (0.0, 0.0, 0.0, -2_000.0),
    "dr_penalty_usd": (0.0, 0.0, 0.0, 500.0),
    "hedge_payoff_usd": (0.0, 0.0, -9_000.0, -9_000.0),
    "premium_usd": (0.0, 0.0, 9_766.0, 9_766.0),
    "value_lost_usd": (0.0, 4_000.0, 0.0, 3_734.0),
    "unserved_penalty_usd": (0.0, 0.0, 0.0, 0.0),
    "restart_usd": (0.0, 0.0, 0.0, 0.0),
}
# Adds up to 80,000 / 75,000 / 80,766 / 74,000.
GPU_HOURS = (1_000_000.0, 980_000.0, 1_000_000.0, 980_000.0)
CVAR = (150_000.0, 130_000.0, 105_000.0, 101_000.0)


def strategy_rows(scale: float = 1.0) -> tuple[StrategyRow, ...]:
    """The four strategies with the ``LINES`` above (times ``scale``)."""
    rows = []
    for i, key in enumerate(STRATEGIES):
        lines = {k: scale * LINES[k][i] for k, _, _ in BREAKDOWN_LINES}
        total = sum(lines.values())
        rows.append(
            StrategyRow(
                key=key,
                label=STRATEGY_LABELS[key],
                expected_usd=total,
                expected_band_usd=(0.95 * total, 1.05 * total),
                cvar_usd=scale * CVAR[i],
                cvar_band_usd=(0.9 * scale * CVAR[i], 1.1 * scale * CVAR[i]),
                expected_usd_per_gpu_hour=total / GPU_HOURS[i],
                cvar_usd_per_gpu_hour=scale * CVAR[i] / GPU_HOURS[i],
                lines_usd=lines,
                gpu_hours=GPU_HOURS[i],
            )
        )
    return tuple(rows)


def sample_report(campus: str = "Campus A", product: str = "call_100_5x16") -> ReportData:
    """A small, fully populated report: 24 hourly intervals, 20 scenarios, 2 classes."""
    rng = np.random.default_rng(7)
    s, t = 20, 24
    stamps = np.datetime64("2026-11-26T06:00", "us") + np.arange(t) * np.timedelta64(1, "h")
    unhedged = 0.05 + rng.gamma(2.0, 0.02, s)
    hedged = 0.06 + 0.3 * (unhedged - 0.05)
    probs = np.full(s, 1.0 / s)
    pct = {"P50": 50.0, "P95": 95.0, "P99": 99.0}
    price = 30.0 + 20.0 * np.sin(np.arange(t) / 24 * 2 * np.pi)
    grid = np.linspace(-50.0, 200.0, 51)
    load = np.full(t, 80.0)
    blocks = np.where(np.arange(t) < 16, 95.5, 0.0)  # over-hedged by 15.5 MW in 16 intervals
    both = strategy_rows()[3]
    return ReportData(
        run_id="20261126T040000Z-abc123",
        as_of="2026-11-26",
        created_utc="2026-11-26T04:00:00Z",
        profile="demo-ercot",
        campus=campus,
        iso="ercot",
        node="LZ_HOUSTON",
        horizon="2026-11-26 to 2026-11-27 (24 h)",
        alpha=0.95,
        trades=(
            Trade(
                product,
                "call",
                "5x16",
                "2026-11-26",
                "2026-11-27",
                12.5,
                2.1875,
                1.875,
                100.0,
                4375.0,
                quoted=True,
            ),
            Trade(
                "block_7x24",
                "block",
                "7x24",
                "horizon",
                "horizon",
                95.49999999999999,
                123.45,
                122.0,
                None,
                3_000.0,
            ),
            Trade(
                "block_5x16",
                "block",
                "5x16",
                "2026-11-26",
                "2026-11-27",
                -3.0,
                44.5,
                45.0,
                None,
                24.0,
            ),
        ),
        risk=RiskTable(
            alpha=0.95,
            out_of_sample=strategy_rows(),
            in_sample=strategy_rows(0.9),
            out_of_sample_scenarios=20,
            in_sample_scenarios=40,
            split="out-of-sample scenarios drawn from 112 historical days that the in-sample "
            "scenarios (116 days) do not use",
            gap_sentence="Out of sample, the recommended strategy's expected cost is $7,400 "
            "higher than in sample.",
            ladder_gap=LadderGap(65_000.0, 88_000.0, 66_600.0, 90_900.0),
        ),
        cost=CostDistribution(
            hedged,
            unhedged,
            probs,
            {k: float(np.percentile(hedged, q)) for k, q in pct.items()},
            {k: float(np.percentile(unhedged, q)) for k, q in pct.items()},
        ),
        frontier=Frontier(
            lambdas=np.array([0.0, 0.5, 1.0, 2.0]),
            expected_usd=np.array([300_000.0, 73_000.0, 74_000.0, 76_000.0]),
            cvar_usd=np.array([1_500_000.0, 120_000.0, 101_000.0, 98_000.0]),
            chosen_expected_usd=both.expected_usd,
            chosen_cvar_usd=both.cvar_usd,
            unhedged_expected_usd=80_000.0,
            unhedged_cvar_usd=150_000.0,
        ),
        hedge_load=HedgeLoad(
            interval_start_utc=stamps,
            tz="America/Chicago",
            block_mw=blocks,
            option_mw=np.where((np.arange(t) >= 6) & (np.arange(t) < 22), 12.5, 0.0),
            load_mean_mw=load,
            load_low_mw=load - 10.0,
            load_high_mw=load + 5.0,
            scheduled_mw=np.full(t, 85.0),
        ),
        ladder=Ladder(
            rungs=(
                LadderRung("train_flex", 20.0, 1600.0, 1310.0, 1450.0),
                LadderRung("train_flex", 10.0, 800.0, 510.0, 650.0),
                LadderRung(campus + " batch", 10.0, 400.0),
            ),
            fixed=(("inference overflow", 5.0),),
            tag_hours="2026-11-26 15:00-19:00 CST",
        ),
        payoffs=(
            PayoffCurve(product, grid, np.maximum(grid - 100.0, 0.0), 4.0),
            PayoffCurve("block_5x16", grid, grid - 45.0, None),
        ),
        schedule=Schedule(
            interval_start_utc=stamps,
            tz="America/Chicago",
            firm_mw=np.full(t, 40.0),
            class_mw={"train_flex": np.full(t, 30.0), campus + " batch": np.full(t, 10.0)},
            price_mean_usd_per_mwh=price,
            price_low_usd_per_mwh=price - 15.0,
            price_high_usd_per_mwh=price + 60.0,
            first_shed_usd_per_mwh={
                "train_flex": np.full(t, 800.0),
                campus + " batch": np.full(t, 400.0),
            },
        ),
        stress=(StressRow("uri_2021", 0.01, 2_500_000.0, 900_000.0, 3.1, 1.2),),
        changes=Changes(
            previous_run_id="20261125T040000Z-def456",
            previous_as_of="2026-11-25",
            trades=(ChangeRow(product, "MW", 10.0, 12.5),),
            risk=(ChangeRow("CVaR 95% cost (out of sample, both)", "$", 110_000.0, 101_000.0),),
            schedule=(ChangeRow("train_flex", "MWh", 700.0, 720.0),),
        ),
        provenance=Provenance(
            sources=(("price store", "/tmp/store"), ("refresh", "offline: used the store")),
            coverage=(("ercot rtm LZ_HOUSTON", "2023-01-01 06:00", "2024-01-01 05:00", 8760),),
            findings=(("ercot/rtm/LZ_HOUSTON/60min", "gap", 1, "2023-11-05 01:00 CST repeat"),),
            inputs=(("models/campus/" + campus + ".toml", "sha256:0123abcd"),),
            solver=(("status", "Optimal"), ("HiGHS version", "1.7.2")),
            timings_s=(("scenarios", 0.12), ("solve", 0.5)),
        ),
        alerts=(
            AlertRow(
                "warning",
                "2026-11-26 15:00-19:00 CST",
                "coincident-peak risk: the schedule runs 85.0 MW (firm 40.0, train_flex 30.0, "
                "batch 10.0); expected tag cost $394,400 at that load ($4,640 per MW held "
                "through it); the ladder starts to shed load (batch first, 10.0 MW) above "
                "$110/MWh: 35% chance out of sample at some point",
            ),
            AlertRow("info", "", f"ercot/rtm/{campus}/60min: gap: 1 interval missing"),
        ),
    )
