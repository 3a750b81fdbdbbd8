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
    return RegimeParams(
        interval_minutes=60,
        scale_usd_per_mwh=20.0,
        threshold_usd_per_mwh=300.0,
        mu=np.arcsinh(level_usd / 20.0),
        sigma=np.full((12, 24), 0.15) + 0.05 * (month == 7),
        phi=0.85,
        entry=entry,
        exit=np.where(hour == 20, 1.0, np.where((hour >= 16) & (hour < 20), 0.3, 0.5)),
        size_quantiles=np.linspace(0.05, 0.95, 101),
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
    evening = slice(16, 21)
    np.testing.assert_allclose(fit.exit[evening], known.exit[evening], atol=0.06)
    levels = slice(10, 91, 10)
    np.testing.assert_allclose(fit.size_quantiles[levels], known.size_quantiles[levels], atol=0.04)
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
