"""Regime model: the fit recovers known parameters from data simulated with them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from energyhedge.scenarios.daygrid import DayMatrix
from energyhedge.scenarios.regime import RegimeParams, fit_regime, simulate_regime

CEILING = 5500.0
YEARS = 120


def _known() -> RegimeParams:
    hour = np.arange(24)
    month = np.arange(12)[:, None]
    level_usd = 30.0 + 12.0 * np.sin(2 * np.pi * (hour - 9) / 24) + 8.0 * (month == 7)
    entry = np.zeros((12, 24))
    entry[5:8, 16:20] = 0.03  # June-August evenings
    # August spikes last longer (every slot's exit probability times 0.6) ...
    by_slot = np.where(hour == 20, 1.0, np.where((hour >= 16) & (hour < 20), 0.3, 0.5))
    exit_ = np.tile(by_slot, (12, 1))
    exit_[7] *= 0.6
    sizes = np.tile(np.linspace(0.05, 0.95, 101), (12, 1))
    sizes[7] = np.linspace(0.2, 0.95, 101)  # ... and are larger
    return RegimeParams(
        interval_minutes=60,
        scale_usd_per_mwh=20.0,
        threshold_usd_per_mwh=300.0,
        mu=np.arcsinh(level_usd / 20.0),
        sigma=np.full((12, 24), 0.15) + 0.05 * (month == 7),
        phi=0.85,
        entry=entry,
        exit=exit_,
        size_quantiles=sizes,
        size_rho=0.5,
    )


@pytest.fixture(scope="module")
def synthetic() -> tuple[RegimeParams, DayMatrix]:
    known = _known()
    dates = np.arange(np.datetime64("1990-01-01"), np.datetime64("1990-01-01") + 365 * YEARS)
    prices = simulate_regime(
        known, dates, np.full(dates.size, CEILING), 1, np.random.default_rng(7)
    )
    history = DayMatrix(dates=dates, prices_usd_per_mwh=prices.reshape(-1, 24), interval_minutes=60)
    return known, history


def test_fit_recovers_known_parameters(synthetic: tuple[RegimeParams, DayMatrix]) -> None:
    known, history = synthetic
    fit = fit_regime(history, np.full(history.dates.size, CEILING))
    assert fit.phi == pytest.approx(known.phi, abs=0.005)
    assert np.abs(fit.mu - known.mu).max() < 0.05
    assert np.abs(fit.mu - known.mu).mean() < 0.02
    assert np.abs(fit.sigma - known.sigma).max() < 0.015
    hot = known.entry > 0
    assert np.abs(fit.entry[hot] - known.entry[hot]).max() < 0.01
    assert np.all(fit.entry[~hot] == 0.0)
    summer, evening, levels = slice(5, 8), slice(16, 21), slice(10, 91, 10)
    np.testing.assert_allclose(fit.exit[summer, evening], known.exit[summer, evening], atol=0.06)
    np.testing.assert_allclose(
        fit.size_quantiles[summer, levels], known.size_quantiles[summer, levels], atol=0.04
    )
    assert fit.size_rho == pytest.approx(known.size_rho, abs=0.06)


def test_spike_prices_scale_with_the_ceiling() -> None:
    known = _known()
    dates = np.arange(np.datetime64("2024-07-01"), np.datetime64("2024-08-01"))
    high = simulate_regime(known, dates, np.full(31, 9500.0), 40, np.random.default_rng(3))
    low = simulate_regime(known, dates, np.full(31, 1300.0), 40, np.random.default_rng(3))
    spike = high > 300.0
    assert spike.sum() > 100
    np.testing.assert_array_equal(low[~spike], high[~spike])
    np.testing.assert_allclose((low[spike] - 300.0) / 1000.0, (high[spike] - 300.0) / 9200.0)


def test_parameters_round_trip_through_json(tmp_path: Path) -> None:
    known = _known()
    path = tmp_path / "regime.json"
    known.save(path)
    back = RegimeParams.load(path)
    for name, value in known.__dict__.items():
        np.testing.assert_array_equal(getattr(back, name), value)


def test_month_sizes_and_exits_shrink_toward_all_year_by_hand() -> None:
    """August: 15 two-hour spikes (HE18-19) at $800; January: one one-hour spike (HE18) at $400;
    February: none; no history for other months.

    With a $1,300 ceiling the positions are 0.5 and 0.1. Slot 17 has 16 spike steps and 1 end,
    slot 18 has 15 and 15; the all-slot share is 16/31, so the prior adds 20 * 16/31 ends.
    """
    dates = np.r_[
        np.arange(np.datetime64("2023-01-01"), np.datetime64("2023-03-01")),
        np.arange(np.datetime64("2023-08-01"), np.datetime64("2023-09-01")),
    ]
    prices = 30.0 + np.random.default_rng(0).normal(0.0, 2.0, (dates.size, 24))
    prices[9, 17] = 400.0
    prices[59:74, 17:19] = 800.0
    history = DayMatrix(dates=dates, prices_usd_per_mwh=prices, interval_minutes=60)
    fit = fit_regime(history, np.full(dates.size, 1300.0))

    prior = 20.0 * 16 / 31
    jan_factor = (1 + prior) / (1 / 16 + prior)
    aug_factor = (15 + prior) / (15 / 16 + 15 * 1.0 + prior)
    slots = [17, 18, 3]
    np.testing.assert_allclose(fit.exit[0, slots], [jan_factor / 16, 1.0, jan_factor * 16 / 31])
    np.testing.assert_allclose(
        fit.exit[7, slots], [aug_factor / 16, aug_factor, aug_factor * 16 / 31]
    )
    np.testing.assert_allclose(fit.exit[1, slots], [1 / 16, 1.0, 16 / 31])  # no spikes: factor 1
    np.testing.assert_array_equal(fit.exit[3], fit.exit[1])  # April borrows February

    # All-year quantiles of 30 x 0.5 and 1 x 0.1: 0.1 at level 0, 0.5 from level 1/30 on.
    levels = [0, 50, 100]
    np.testing.assert_allclose(fit.size_quantiles[1, levels], [0.1, 0.5, 0.5])
    np.testing.assert_allclose(
        fit.size_quantiles[0, levels], [0.1, (0.1 + 20 * 0.5) / 21, (0.1 + 20 * 0.5) / 21]
    )
    np.testing.assert_allclose(
        fit.size_quantiles[7, levels], [(30 * 0.5 + 20 * 0.1) / 50, 0.5, 0.5]
    )
    np.testing.assert_array_equal(fit.size_quantiles[3], fit.size_quantiles[1])
