"""Risk measures against independent computations (Rockafellar-Uryasev minimisation, loops)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energyhedge.errors import ConfigError
from energyhedge.model.measures import (
    bootstrap_interval,
    cvar_many,
    expected_many,
    mean_plus_cvar,
    resample_weights,
    risk_measures,
    var_cvar,
    weighted_quantile,
)


def _ru_cvar(cost, p, alpha):
    """min over eta of eta + E[(C - eta)+] / (1 - alpha); the minimum is at a cost value."""
    return min(e + p @ np.maximum(cost - e, 0.0) / (1 - alpha) for e in cost)


def test_twenty_equal_scenarios_by_hand():
    cost = np.arange(1.0, 21.0)
    p = np.full(20, 0.05)
    m = risk_measures(cost, p, 0.95)
    assert m.var_usd == 19.0  # P(C <= 19) = 0.95
    assert m.cvar_usd == pytest.approx(20.0)  # worst 5 % of mass is the scenario at 20
    assert m.expected_usd == pytest.approx(10.5)
    assert m.worst_usd == 20.0
    assert risk_measures(cost, p, 0.9).cvar_usd == pytest.approx(19.5)
    assert mean_plus_cvar(cost, p, 0.95, 2.0) == pytest.approx(10.5 + 2.0 * 20.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30),
    st.floats(0.5, 0.99),
    st.integers(0, 10_000),
)
def test_cvar_equals_rockafellar_uryasev_minimum(values, alpha, seed):
    cost = np.array(values)
    p = np.random.default_rng(seed).dirichlet(np.ones(cost.size))
    var, cvar = var_cvar(cost, p, alpha)
    assert cvar == pytest.approx(_ru_cvar(cost, p, alpha), rel=1e-9, abs=1e-6)
    assert cvar >= var - 1e-6
    assert cvar >= p @ cost - 1e-6
    assert var == weighted_quantile(cost, p, alpha)


def test_bootstrap_many_equals_one_at_a_time():
    rng = np.random.default_rng(1)
    cost = rng.lognormal(10, 1, 200)
    p = np.full(200, 1 / 200)
    w = resample_weights(p, 50, seed=4)
    assert w.shape == (50, 200)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    many = cvar_many(cost, w, 0.95)
    one = [var_cvar(cost, row, 0.95)[1] for row in w]
    np.testing.assert_allclose(many, one, rtol=1e-12)
    np.testing.assert_allclose(expected_many(cost, w), w @ cost)
    band = bootstrap_interval(many, 0.9)
    assert band.low <= var_cvar(cost, p, 0.95)[1] <= band.high
    assert band.low < band.high


def test_invalid_distribution_is_a_config_error():
    with pytest.raises(ConfigError, match="alpha"):
        risk_measures(np.ones(3), np.full(3, 1 / 3), 1.0)
    with pytest.raises(ConfigError, match="sum to 1"):
        risk_measures(np.ones(3), np.full(3, 0.5), 0.9)
