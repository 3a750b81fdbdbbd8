"""Joint cross-ISO scenarios: the overlap of the histories, the same day at both campuses, and
the dependence figures of the validation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from energyhedge.campus import load_campus
from energyhedge.errors import DataError
from energyhedge.fleet.scenarios import (
    candidate_history,
    dependence,
    draw_joint,
    joint_history,
)

CAMPUS = Path(__file__).resolve().parents[1] / "models" / "campus"
TX = load_campus(CAMPUS / "tx-100mw.toml")  # ERCOT LZ_HOUSTON: the fleet's clock (Central)
PJM = load_campus(CAMPUS / "pjm-western-100mw.toml")  # PJM WESTERN HUB


def _series(iso: str, node: str, first_utc: str, hours: int, minutes: int, *, offset: float):
    """Canonical rows whose price is offset + 1000 x (Central day since 2025-07-08) + Central
    hour, so every price names its day and hour."""
    step = np.timedelta64(minutes, "m")
    count = hours * 60 // minutes
    stamps = np.datetime64(first_utc, "us") + np.arange(count) * step
    central = stamps - np.timedelta64(5, "h")  # CDT in July
    day = (central.astype("datetime64[D]") - np.datetime64("2025-07-08")).astype(int)
    hour = (central - central.astype("datetime64[D]")).astype("timedelta64[h]").astype(int)
    return pl.DataFrame(
        {
            "iso": iso,
            "market": "rtm",
            "node": node,
            "interval_start_utc": pl.Series(stamps).dt.replace_time_zone("UTC"),
            "interval_minutes": pl.Series([minutes] * count, dtype=pl.Int32),
            "price_usd_per_mwh": offset + 1000.0 * day + hour,
        }
    )


def _history() -> pl.DataFrame:
    # ERCOT: 15-minute prices for the Central days 8-11 July 2025; PJM: hourly for 9-11 July
    # only. The overlap is 9, 10 and 11 July (Wednesday to Friday).
    ercot = _series("ercot", "LZ_HOUSTON", "2025-07-08T05:00", 96, 15, offset=0.0)
    pjm = _series("pjm", "WESTERN HUB", "2025-07-09T05:00", 72, 60, offset=50.0)
    return pl.concat([ercot, pjm])


def test_history_is_the_overlap_on_the_clock_campus_days():
    joint = joint_history(_history(), (TX, PJM))
    assert joint.clock_iso == "ercot"
    np.testing.assert_array_equal(
        joint.dates, np.array(["2025-07-09", "2025-07-10", "2025-07-11"], dtype="datetime64[D]")
    )
    hours = np.arange(24.0)
    # ERCOT's four quarter-hours of each hour average to the hour's price.
    np.testing.assert_allclose(joint.prices[TX.name][0], 1000.0 + hours)
    np.testing.assert_allclose(joint.prices[PJM.name][2], 50.0 + 3000.0 + hours)


def test_every_scenario_takes_both_campuses_from_the_same_historical_day():
    joint = joint_history(_history(), (TX, PJM))
    drawn = draw_joint(joint, (TX, PJM), start=date(2025, 7, 16), days=1, n=40, seed=3)
    tx = drawn.sets[TX.name].prices_usd_per_mwh
    pjm = drawn.sets[PJM.name].prices_usd_per_mwh
    assert tx.shape == pjm.shape == (40, 24)
    # The same UTC instants at both campuses, starting at Central midnight of 16 July.
    stamps = drawn.sets[TX.name].interval_start_utc
    np.testing.assert_array_equal(stamps, drawn.sets[PJM.name].interval_start_utc)
    assert stamps[0] == np.datetime64("2025-07-16T05:00", "us")
    np.testing.assert_allclose(pjm - tx, 50.0)  # same day and hour at both
    day = tx[:, 0] // 1000.0
    expected_day = (drawn.drawn_dates[:, 0] - np.datetime64("2025-07-08")).astype(int)
    np.testing.assert_array_equal(day, expected_day)
    np.testing.assert_allclose(tx - 1000.0 * day[:, None], np.tile(np.arange(24.0), (40, 1)))
    # 16 July is a Wednesday: the overlap's three working days are the candidates.
    assert set(drawn.drawn_dates[:, 0].astype(str)) <= {"2025-07-09", "2025-07-10", "2025-07-11"}


def test_weekend_targets_draw_only_weekend_days():
    # 12 July 2025 is a Saturday; the overlap has no weekend day, so the nearest months are
    # searched and none has one either: the bootstrap says so.
    joint = joint_history(_history(), (TX, PJM))
    with pytest.raises(DataError, match="weekend/holiday"):
        draw_joint(joint, (TX, PJM), start=date(2025, 7, 12), days=1, n=5, seed=1)


def test_candidate_history_keeps_the_days_a_horizon_may_draw():
    joint = joint_history(_history(), (TX, PJM))
    pool = candidate_history(joint, start=date(2025, 7, 16), days=1, month_window=0)
    assert pool.dates.size == 3


def test_histories_without_a_common_day_are_refused():
    ercot = _series("ercot", "LZ_HOUSTON", "2025-07-08T05:00", 24, 15, offset=0.0)
    pjm = _series("pjm", "WESTERN HUB", "2025-07-10T05:00", 24, 60, offset=0.0)
    with pytest.raises(DataError, match="share no whole day"):
        joint_history(pl.concat([ercot, pjm]), (TX, PJM))
    with pytest.raises(DataError, match="no pjm/rtm/WESTERN HUB prices"):
        joint_history(ercot, (TX, PJM))


def test_dependence_by_hand():
    # a = 1..4, b = 2a: correlation 1. Spikes above 3.5 at A (hour 4) and above 5 at B
    # (hours 3, 4): indicators (0,0,0,1) and (0,0,1,1), means 1/4 and 1/2, covariance
    # 1/4 - 1/8 = 1/8, standard deviations sqrt(3)/4 and 1/2: correlation 1/sqrt(3).
    # B spikes in the one hour A does: P(spike B | spike A) = 1.
    out = dependence(np.array([1.0, 2, 3, 4]), np.array([2.0, 4, 6, 8]), 3.5, 5.0)
    assert out["price_correlation"] == pytest.approx(1.0)
    assert out["spike_correlation"] == pytest.approx(1 / np.sqrt(3))
    assert out["spike_frequency_a"] == 0.25
    assert out["spike_frequency_b"] == 0.5
    assert out["spike_b_given_spike_a"] == 1.0
    # No spike at A: the conditional chance is undefined.
    assert np.isnan(dependence(np.ones(3), np.arange(3.0), 5.0, 0.5)["spike_b_given_spike_a"])
