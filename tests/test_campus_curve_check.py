"""Campus files and the optimiser check power-to-throughput curves with one validator.

Before, the campus loader refused any rise in slope above 1e-12 and any end point not exactly
(1, 1), while the optimiser allowed 1e-9 and ``np.isclose`` end points: a curve could pass one
and fail the other. Now both use ``energyhedge.model.curves.curve_segments``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from energyhedge.campus import load_campus
from energyhedge.errors import ConfigError
from energyhedge.model.curves import CURVE_TOLERANCE
from energyhedge.model.problem import FlexClass

CAMPUS = """
[site]
name = "mini"
iso = "ercot"
node = "LZ_NORTH"
grid_limit_mw = 10.0
pue = 1.2

[[gpu]]
name = "g"
it_kw_per_gpu = 1.0
idle_fraction = 0.1

[[training]]
name = "train"
gpu = "g"
gpus = 5000
value_usd_per_gpu_hour = 2.0
flex_tier = 2
curve_power_frac = [0.0, 0.5, 1.0]
curve_work_frac = [0.0, {middle!r}, {end!r}]
"""


def flex_class(power: np.ndarray, work: np.ndarray) -> FlexClass:
    return FlexClass("train", np.ones(1), 1.0, 1.0, power, work)


@pytest.mark.parametrize(
    ("middle", "end", "accepted"),
    [
        # slopes 1 - 2.5e-10 then 1 + 2.5e-10: a rise of 5e-10 (the loader used to refuse it)
        (0.5 - 1.25e-10, 1.0, True),
        # a rise of 5e-9: not concave
        (0.5 - 1.25e-9, 1.0, False),
        # ends 5e-9 short of full throughput (the optimiser used to accept it)
        (0.5, 1.0 - 5e-9, False),
    ],
)
def test_loader_and_optimiser_agree_on_curves_near_the_tolerance(
    tmp_path: Path, middle: float, end: float, accepted: bool
):
    assert CURVE_TOLERANCE == 1e-9
    path = tmp_path / "campus.toml"
    path.write_text(CAMPUS.format(middle=middle, end=end))
    power, work = np.array([0.0, 0.5, 1.0]), np.array([0.0, middle, end])
    if accepted:
        (tier,) = load_campus(path).training
        assert tier.curve_work_frac.tolist() == work.tolist()
        width, slope = flex_class(tier.curve_power_frac, tier.curve_work_frac).segments()
        assert width.tolist() == [0.5, 0.5]
        assert slope[1] - slope[0] == pytest.approx(5e-10, rel=1e-3)
    else:
        with pytest.raises(ConfigError) as err:
            load_campus(path)
        assert str(err.value).startswith(f"{path}: training[0].curve_power_frac: ")
        with pytest.raises(ConfigError):
            flex_class(power, work).segments()
