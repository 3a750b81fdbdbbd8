"""A campus whose firm load cannot fit its grid limit or a curtailment event is refused at load."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from test_campus import MINIMAL

from energyhedge.campus import load_campus
from energyhedge.commands.campus import register
from energyhedge.errors import InfeasibleError

# Firm load by hand: inference 1000 GPUs x 1 kW x (0.1 + 0.9 x 0.5) x PUE 1.2 = 0.66 MW, paused
# training 5000 GPUs x 1 kW x 0.1 x 1.2 = 0.60 MW: 1.26 MW in every hour.
CAMPUS = MINIMAL


EVENT = """
[[curtailment_event]]
name = "shed"
start = 2025-08-20T18:30:00
hours = 1.5
max_campus_mw = {limit}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "campus.toml"
    path.write_text(text)
    return path


def campus_show(path: Path) -> int:
    """`energyhedge campus show FILE`, parsed by the command's own parser."""
    parser = argparse.ArgumentParser(prog="energyhedge")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["campus", "show", str(path)])
    return args.func(args)


def test_firm_load_above_grid_limit_in_every_hour_is_refused_by_campus_show(tmp_path):
    path = write(tmp_path, CAMPUS.replace("grid_limit_mw = 10.0", "grid_limit_mw = 1.0"))
    with pytest.raises(InfeasibleError) as err:
        campus_show(path)
    assert err.value.exit_code == 4
    assert str(err.value) == (
        f"{path}: site.grid_limit_mw: firm load 1.26 MW (inference 0.66 MW + paused training "
        "0.60 MW, PUE 1.2) exceeds the grid limit 1 MW in every hour; lower the must-serve "
        "inference or the training tiers' paused load (gpus, utilisation, idle_fraction) by "
        "0.26 MW, or raise grid_limit_mw to at least 1.26"
    )


def test_firm_load_names_its_peak_month_and_hour_ending(tmp_path):
    # PUE 1.2 everywhere but 1.6 in July HE16: inference 0.88 + paused 0.80 = 1.68 MW there;
    # elsewhere 1.26 MW, under the 1.5 MW limit.
    pue = [[1.2] * 24 for _ in range(12)]
    pue[6][15] = 1.6
    text = CAMPUS.replace("grid_limit_mw = 10.0", "grid_limit_mw = 1.5").replace(
        "pue = 1.2", f'[site.pue]\nkind = "month_hour"\nby_month_hour = {pue}'
    )
    with pytest.raises(InfeasibleError) as err:
        load_campus(write(tmp_path, text))
    message = str(err.value)
    assert (
        "site.grid_limit_mw: firm load 1.68 MW (inference 0.88 MW + paused training 0.80 MW, "
        "PUE 1.6) exceeds the grid limit 1.5 MW at hour-ending 16 in July; " in message
    )
    assert message.endswith("by 0.18 MW, or raise grid_limit_mw to at least 1.68")


def test_firm_load_at_the_grid_limit_is_accepted(tmp_path):
    text = CAMPUS.replace("grid_limit_mw = 10.0", "grid_limit_mw = 1.26")
    assert load_campus(write(tmp_path, text)).grid_limit_mw == 1.26


def test_temperature_series_is_checked_hour_by_hour(tmp_path):
    # PUE 1.1 at 20 deg C and below, 1.5 at 40 deg C; the 03:00 UTC hour (HE22 CST on 15 Jan)
    # is 40 deg C: firm load 1.26 / 1.2 x 1.5 = 1.575 MW over a 1.4 MW limit.
    (tmp_path / "temps.csv").write_text(
        "interval_start_utc,temperature_c\n2025-01-16T02:00:00Z,20\n2025-01-16T03:00:00Z,40\n"
    )
    text = CAMPUS.replace("grid_limit_mw = 10.0", "grid_limit_mw = 1.4").replace(
        "pue = 1.2",
        '[site.pue]\nkind = "temperature"\ntemperature_c = [20.0, 40.0]\npue = [1.1, 1.5]\n'
        'temperature_file = "temps.csv"',
    )
    with pytest.raises(InfeasibleError, match=r"PUE 1\.5\) exceeds the grid limit 1\.4 MW at "):
        load_campus(write(tmp_path, text))
    with pytest.raises(InfeasibleError, match=r"at hour-ending 22 on 2025-01-15 \(local\)"):
        load_campus(write(tmp_path, text))


def test_curtailment_event_below_firm_load_is_refused(tmp_path):
    path = write(tmp_path, CAMPUS + EVENT.format(limit=1.2))
    with pytest.raises(InfeasibleError) as err:
        campus_show(path)
    assert str(err.value) == (
        f"{path}: curtailment_event[0].max_campus_mw: curtailment event 'shed' allows 1.2 MW "
        "but the firm load is 1.26 MW (inference 0.66 MW + paused training 0.60 MW, PUE 1.2) "
        "at hour-ending 19 on 2025-08-20 (local); curtailing training cannot meet it: lower "
        "the must-serve inference or the training tiers' paused load (gpus, utilisation, "
        "idle_fraction) by 0.06 MW, or raise max_campus_mw to at least 1.26"
    )


def test_curtailment_event_checked_only_in_the_hours_it_touches(tmp_path):
    # Inference at full use only in HE21 (20:00-21:00 CDT): 1.2 + 0.6 = 1.8 MW; the event
    # (18:30-20:00 CDT) touches HE19 and HE20 only, where the firm load is 1.26 MW.
    use = [0.5] * 20 + [1.0] + [0.5] * 3
    text = CAMPUS.replace("utilisation = 0.5", f"utilisation = {use}")
    (event,) = load_campus(write(tmp_path, text + EVENT.format(limit=1.26))).curtailment_events
    assert event.max_campus_mw == 1.26
    longer = EVENT.format(limit=1.26).replace("hours = 1.5", "hours = 1.75")
    with pytest.raises(InfeasibleError, match=r"firm load is 1\.80 MW .* hour-ending 21 on "):
        load_campus(write(tmp_path, text + longer))
