"""The default power-to-throughput curve: concave, through measured points, above all of them."""

from __future__ import annotations

import re

import numpy as np
import pytest

from energyhedge.campus.curves import CURVE_WORKLOADS, concave_envelope, fitted_curve, sweep_points
from energyhedge.errors import ConfigError
from energyhedge.model.curves import curve_segments


@pytest.mark.parametrize("family", sorted(CURVE_WORKLOADS))
def test_fitted_curve_is_concave_envelope_of_measurements(family):
    power, work = fitted_curve(family)
    curve_segments(power, work, family)  # raises ConfigError if not concave and well formed
    points = sweep_points(CURVE_WORKLOADS[family])
    # every interior breakpoint is a measured point
    for p, w in zip(power[1:-1], work[1:-1], strict=True):
        assert np.any(np.isclose(points[:, 0], p) & np.isclose(points[:, 1], w))
    # no measured point lies above the curve
    assert np.all(np.interp(points[:, 0], power, work) >= points[:, 1] - 1e-12)


def test_training_curve_first_breakpoint_by_hand():
    # ft_llama_8b_dolly at the 200 W cap: 196.11887 W of 345.64796 W per GPU, throughput 0.80704
    power, work = fitted_curve("training")
    assert power[1] == pytest.approx(196.11887074251194 / 345.6479635358584, rel=1e-12)
    assert work[1] == pytest.approx(0.8070422535211268, rel=1e-12)


def test_envelope_drops_points_below_and_dominated():
    pts = np.array([[0.5, 0.4], [0.5, 0.8], [0.25, 0.3], [0.75, 0.85], [1.0, 1.0]])
    power, work = concave_envelope(pts)
    # (0.25, 0.3) is under the chord (0,0)-(0.5,0.8); (0.75, 0.85) under (0.5,0.8)-(1,1)
    assert power.tolist() == [0.0, 0.5, 1.0]
    assert work.tolist() == [0.0, 0.8, 1.0]


@pytest.mark.parametrize(
    ("power", "work", "reason"),
    [
        ([0, 0.5, 1], [0, 0.3, 1], "concave"),
        ([0, 0.5, 1], [0, 0.5, 0.9], "end at (1, 1)"),
        ([0, 0.5, 0.5, 1], [0, 0.6, 0.7, 1], "increase strictly"),
        ([0, 0.5, 1], [0, 1.2, 1], "must not fall"),
    ],
)
def test_check_curve_reasons(power, work, reason):
    with pytest.raises(ConfigError, match=re.escape(reason)):
        curve_segments(np.array(power, float), np.array(work, float), "test curve")


def test_unknown_curve_family():
    with pytest.raises(ConfigError, match="unknown curve 'gaming'"):
        fitted_curve("gaming")
