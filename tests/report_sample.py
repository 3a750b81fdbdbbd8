"""A hand-built ``ReportData`` for the report and browser tests (no solver, no data files)."""

from __future__ import annotations

import numpy as np

from energyhedge.report.html import (
    AlertRow,
    ChangeRow,
    Changes,
    CostDistribution,
    Frontier,
    PayoffCurve,
    Provenance,
    ReportData,
    RiskRow,
    Schedule,
    StressRow,
    Trade,
)

HOSTILE = "<script>alert(1)</script>"


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
            Trade(product, "call", "5x16", "2026-11-26", "2026-11-27", 12.5, 100.0, 4375.0, 5250.0),
            Trade("block_5x16", "block", "5x16", "2026-11-26", "2026-11-27", -3.0, 45.0, 0.0),
        ),
        risk=(
            RiskRow("Expected cost", "$", 81_234.0, 82_000.0),
            RiskRow("CVaR 95% cost", "$", 150_000.0, 101_000.0),
            RiskRow("Expected cost per GPU-hour", "$/GPU-h", 0.0901, 0.0925),
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
            expected_usd=np.array([80_000.0, 81_000.0, 82_000.0, 84_000.0]),
            cvar_usd=np.array([150_000.0, 120_000.0, 101_000.0, 98_000.0]),
            chosen_expected_usd=82_000.0,
            chosen_cvar_usd=101_000.0,
            unhedged_expected_usd=81_234.0,
            unhedged_cvar_usd=150_000.0,
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
            thresholds_usd_per_mwh={"train_flex": 1600.0, campus + " batch": 800.0},
        ),
        stress=(StressRow("uri_2021", 0.01, 2_500_000.0, 900_000.0, 3.1, 1.2),),
        changes=Changes(
            previous_run_id="20261125T040000Z-def456",
            previous_as_of="2026-11-25",
            trades=(ChangeRow(product, "MW", 10.0, 12.5),),
            risk=(ChangeRow("CVaR 95% cost", "$", 110_000.0, 101_000.0),),
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
        headline={
            "cvar_usd_per_gpu_hour": 0.11,
            "unhedged_cvar_usd_per_gpu_hour": 0.16,
            "expected_usd_per_gpu_hour": 0.0926,
            "unhedged_expected_usd_per_gpu_hour": 0.0901,
        },
        alerts=(
            AlertRow(
                "warning",
                "2026-11-26 15:00-19:00 CST",
                "coincident-peak risk, keep load low: expected tag cost $4,640 per MW of load "
                "held through it",
            ),
            AlertRow("info", "", f"ercot/rtm/{campus}/60min: gap: 1 interval missing"),
        ),
    )
