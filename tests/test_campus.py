"""Campus files: shipped models, derived quantities by hand, validation messages, CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from energyhedge.campus import CP_RULES, load_campus
from energyhedge.commands.campus import register
from energyhedge.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[1]
TX = REPO / "models" / "campus" / "tx-100mw.toml"
PJM = REPO / "models" / "campus" / "pjm-western-100mw.toml"

MINIMAL = """
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

[[inference]]
name = "inf"
gpu = "g"
gpus = 1000
utilisation = 0.5
value_usd_per_gpu_hour = 3.0

[[training]]
name = "train"
gpu = "g"
gpus = 5000
value_usd_per_gpu_hour = 2.0
flex_tier = 2
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "campus.toml"
    path.write_text(text)
    return path


def test_tx_campus_matches_worked_example():
    c = load_campus(TX)
    assert (c.iso, c.node, c.grid_limit_mw, c.gpus) == ("ercot", "LZ_HOUSTON", 100.0, 80_000)
    assert c.gpu_hours_per_mwh == pytest.approx(800.0)
    (t,) = c.training
    assert t.break_even_usd_per_mwh(c.pue.mean()) == pytest.approx(3000.0)
    hourly = c.hourly_profile(8)
    np.testing.assert_allclose(hourly.firm_mw, 30.0)
    np.testing.assert_allclose(hourly.flexible_mw, [[70.0] * 24])
    np.testing.assert_allclose(hourly.firm_gpu_hours, 24_000.0)


def test_pjm_campus_july_afternoon_by_hand():
    c = load_campus(PJM)
    assert (c.iso, c.node, c.coincident_peak.kind) == ("pjm", "WESTERN HUB", "5cp")
    # 2025-07-15 HE15 EDT = 14:00 local = 18:00 UTC; July PUE 1.29 + 0.04 afternoon = 1.33
    stamps = np.array(["2025-07-15T18:00"], dtype="datetime64[us]")
    prof = c.profile(stamps, np.ones(1))
    assert prof.pue[0] == pytest.approx(1.33)
    inference = 22_000 * 1.0 * (0.12 + 0.88 * 0.95) * 1.33 / 1000
    base = (40_000 + 10_000) * 1.0 * 0.12 * 1.33 / 1000
    assert prof.firm_mw[0] == pytest.approx(inference + base)
    assert prof.firm_gpu_hours[0] == pytest.approx(22_000 * 0.95)
    np.testing.assert_allclose(prof.flexible_mw[:, 0], [40 * 0.88 * 1.33, 10 * 0.88 * 1.33])


def test_minimal_campus_derived_numbers(tmp_path):
    c = load_campus(write(tmp_path, MINIMAL))
    (t,) = c.training
    # flexible MW = 5000 x 1 kW x 0.9 x 1.2 = 5.4 MW; 5000 GPU-h per 5.4 MWh
    assert t.gpu_hours_per_mwh(1.2) == pytest.approx(5000 / 5.4)
    assert t.break_even_usd_per_mwh(1.2) == pytest.approx(2.0 * 5000 / 5.4)
    assert t.allowed_loss == 0.25
    assert t.curve_source == "training"
    assert c.gpu_hours_per_mwh == pytest.approx(6000 / 7.2)
    prof = c.hourly_profile(1)
    # inference 1000 x (0.1 + 0.9 x 0.5) x 1.2 / 1000 = 0.66 MW; base 5000 x 0.1 x 1.2 / 1000
    np.testing.assert_allclose(prof.firm_mw, 0.66 + 0.6)
    np.testing.assert_allclose(prof.firm_gpu_hours, 500.0)


def test_pue_temperature_profile_and_series(tmp_path):
    profile = [[float(h) for h in range(24)] for _ in range(12)]  # deg C = hour index
    text = MINIMAL.replace(
        "pue = 1.2",
        '[site.pue]\nkind = "temperature"\ntemperature_c = [0.0, 10.0, 30.0]\n'
        f"pue = [1.1, 1.1, 1.5]\ntemperature_by_month_hour = {profile}",
    )
    c = load_campus(write(tmp_path, text))
    # 2025-01-15 HE21 Central = 20:00 CST = 02:00 UTC next day; 20 deg C -> 1.1 + 0.4 x 10/20
    stamps = np.array(["2025-01-16T02:00"], dtype="datetime64[us]")
    assert c.pue.at(stamps, "ercot")[0] == pytest.approx(1.3)
    series = tmp_path / "temps.csv"
    series.write_text(
        "interval_start_utc,temperature_c\n2025-01-16T02:00:00Z,25\n2025-01-16T03:00:00Z,40\n"
    )
    text = text.replace(f"temperature_by_month_hour = {profile}", 'temperature_file = "temps.csv"')
    c = load_campus(write(tmp_path, text))
    stamps = np.array(["2025-01-16T02:30", "2025-01-16T03:00"], dtype="datetime64[us]")
    np.testing.assert_allclose(c.pue.at(stamps, "ercot"), [1.4, 1.5])
    with pytest.raises(DataError, match="no value for 2025-01-16T04"):
        c.pue.at(np.array(["2025-01-16T04:00"], dtype="datetime64[us]"), "ercot")


def test_curtailment_event_local_time_and_overlap(tmp_path):
    text = MINIMAL + (
        '\n[[curtailment_event]]\nname = "shed"\nstart = 2025-08-20T18:30:00\nhours = 1.0\n'
        "max_campus_mw = 2.0\n"
    )
    (e,) = load_campus(write(tmp_path, text)).curtailment_events
    assert str(e.start_utc) == "2025-08-20T23:30:00.000000"  # CDT = UTC-5
    stamps = np.array(
        ["2025-08-20T22:00", "2025-08-20T23:00", "2025-08-21T00:00", "2025-08-21T01:00"],
        dtype="datetime64[us]",
    )
    assert e.overlaps(stamps, 60).tolist() == [False, True, True, False]


def test_coincident_peak_weight_by_hand(tmp_path):
    text = MINIMAL + (
        '\n[coincident_peak]\nkind = "4cp"\nrate_usd_per_mw = 80000.0\nmonths = [8]\n'
        "hours_ending = [17, 18]\nprobability_per_hour = 0.01\n"
    )
    cp = load_campus(write(tmp_path, text)).coincident_peak
    # Wed 2025-08-20: HE17 CDT starts 16:00 local = 21:00 UTC; Sat 2025-08-23 same hour.
    stamps = np.array(
        ["2025-08-20T20:00", "2025-08-20T21:00", "2025-08-20T21:15", "2025-08-23T21:00"],
        dtype="datetime64[us]",
    )
    hours = np.array([1.0, 1.0, 0.25, 1.0])
    w = cp.weight_usd_per_mw("ercot", stamps, hours, np.zeros((2, 4)))
    # 80,000 / 4 peaks x 0.01 per hour = 200 $/MW per in-window hour
    assert w.tolist() == [[0.0, 200.0, 50.0, 0.0]] * 2
    # the same exposure as a month-by-hour matrix
    table = [[0.0] * 24 for _ in range(12)]
    table[7][16] = table[7][17] = 0.01
    text = text.split("[coincident_peak]")[0] + (
        '[coincident_peak]\nkind = "4cp"\nrate_usd_per_mw = 80000.0\n'
        f"probability_by_month_hour = {table}\n"
    )
    cp = load_campus(write(tmp_path, text)).coincident_peak
    assert cp.weight_usd_per_mw("ercot", stamps, hours, np.zeros((1, 4))).tolist() == [
        [0.0, 200.0, 50.0, 0.0]
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("grid_limit_mw = 10.0", "gird_limit_mw = 10.0", "site.gird_limit_mw: unknown key"),
        ('gpu = "g"\ngpus = 5000', 'gpu = "a100"\ngpus = 5000', "training[0].gpu: no [[gpu]]"),
        ("flex_tier = 2", "flex_tier = 4", "training[0].flex_tier: must be 0, 1, 2 or 3"),
        ("utilisation = 0.5", "utilisation = [0.5, 0.5]", "inference[0].utilisation: expected"),
        ("utilisation = 0.5", "utilisation = 1.5", "values must be >= 0 and <= 1"),
        ("gpus = 1000", "gpus = 1000\nmw = 3.0", "give exactly one of gpus"),
        ("pue = 1.2", "pue = 0.9", "site.pue: must be >= 1"),
        (
            "flex_tier = 2",
            "flex_tier = 2\ncurve_power_frac = [0, 0.5, 1]\ncurve_work_frac = [0, 0.2, 1]",
            "training[0].curve_power_frac: power-to-throughput curve is not concave",
        ),
        (
            "pue = 1.2",
            '[site.pue]\nkind = "month_hour"\nby_month_hour = [[1.2, 1.3]]',
            "site.pue.by_month_hour: expected 12 lists of 24 numbers",
        ),
        ('name = "train"', 'name = "inf"', "training[0].name: duplicate name"),
        (
            "flex_tier = 2",
            "flex_tier = 2\nmin_power_frac = 0.3",
            "training[0].min_power_frac: applies only with min_run_h or min_off_h above 0",
        ),
        (
            "flex_tier = 2",
            "flex_tier = 2\nmin_off_h = 2\nmin_power_frac = 0",
            "training[0].min_power_frac: must be above 0",
        ),
        ("flex_tier = 2", "flex_tier = 2\nmin_run_h = -1", "training[0].min_run_h: must be >= 0"),
    ],
)
def test_validation_errors_name_file_key_reason(tmp_path, old, new, message):
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_campus(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[coincident_peak]\nkind = "5cp"\nrate_usd_per_mw = 1.0\nprobability_per_hour = 0.1',
            "coincident_peak.kind: 5cp applies to PJM, not ERCOT",
        ),
        (
            '[[dr_programme]]\nname = "d"\nkind = "ers"\navailability_usd_per_mw_h = 5\n'
            "max_mw = 6.0\ntrigger_usd_per_mwh = 3000\npenalty_usd_per_mwh = 100",
            "dr_programme[0].max_mw: 6 MW exceeds the 5.4 MW of training curtailable",
        ),
        (
            '[[dr_programme]]\nname = "d"\nkind = "capacity_dr"\navailability_usd_per_mw_h = 5\n'
            "max_mw = 1.0\ntrigger_usd_per_mwh = 3000\npenalty_usd_per_mwh = 100",
            "dr_programme[0].kind: capacity_dr is a programme of PJM, not ERCOT",
        ),
    ],
)
def test_programme_validation(tmp_path, extra, message):
    path = write(tmp_path, MINIMAL + "\n" + extra + "\n")
    with pytest.raises(ConfigError) as err:
        load_campus(path)
    assert message in str(err.value)


def test_dr_programme_within_real_time_flexible_mw(tmp_path):
    # 5 MW fits under the 5000 x 0.9 x 1.2 / 1000 = 5.4 MW of real-time training
    extra = (
        '[[dr_programme]]\nname = "d"\nkind = "ers"\navailability_usd_per_mw_h = 5\n'
        "max_mw = 5.0\ntrigger_usd_per_mwh = 3000\npenalty_usd_per_mwh = 100\n"
    )
    (d,) = load_campus(write(tmp_path, MINIMAL + extra)).dr_programmes
    assert (d.kind, d.max_mw, d.months, d.hours_ending) == (
        "ers",
        5.0,
        tuple(range(1, 13)),
        tuple(range(1, 25)),
    )


def run_campus_command(argv: list[str]) -> int:
    """The `energyhedge campus` parser on its own (the full CLI imports every family)."""
    parser = argparse.ArgumentParser(prog="energyhedge")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_show_text_and_json(capsys):
    assert run_campus_command(["campus", "show", str(TX)]) == 0
    out = capsys.readouterr().out
    assert "800.0 GPU-h/MWh" in out
    assert "3,000" in out  # break-even $/MWh
    assert "HE24  firm     30.0  flexible     70.0" in out
    assert run_campus_command(["campus", "show", str(PJM), "--json", "--month", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "pjm-western-100mw"
    assert data["by_hour_month"] == 1
    assert len(data["firm_mw_by_hour_ending"]) == 24
    assert data["training"][1]["ramp_mw_per_h"] is None  # no limit


def test_cli_bad_file(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.toml: file not found") as err:
        run_campus_command(["campus", "show", str(tmp_path / "missing.toml")])
    assert err.value.exit_code == 2


def test_coincident_peak_rule_is_pluggable(tmp_path, monkeypatch):
    """A new rule registered in CP_RULES is selectable from the campus file."""

    def top_price(cp, iso, stamps, hours, prices):
        return (prices == prices.max(axis=1, keepdims=True)).astype(float)

    monkeypatch.setitem(CP_RULES, "top_price", top_price)
    text = MINIMAL + (
        '\n[coincident_peak]\nkind = "4cp"\nrule = "top_price"\nrate_usd_per_mw = 400.0\n'
        "probability_per_hour = 0.0\n"
    )
    cp = load_campus(write(tmp_path, text)).coincident_peak
    stamps = np.array(["2025-08-20T20:00", "2025-08-20T21:00"], dtype="datetime64[us]")
    w = cp.weight_usd_per_mw("ercot", stamps, np.ones(2), np.array([[1.0, 9.0], [5.0, 2.0]]))
    assert w.tolist() == [[0.0, 100.0], [100.0, 0.0]]  # 400 $/MW / 4 peaks


def test_commitment_keys_are_read(tmp_path):
    restarts = load_campus(REPO / "models" / "campus" / "tx-100mw-restarts.toml")
    (tier,) = restarts.training
    assert (tier.min_run_h, tier.min_off_h, tier.min_power_frac) == (4.0, 2.0, None)
    assert tier.on_power_frac == tier.curve_power_frac[1] > 0  # the first rung by default
    text = MINIMAL.replace("flex_tier = 2", "flex_tier = 2\nmin_off_h = 1.5\nmin_power_frac = 0.4")
    (tier,) = load_campus(write(tmp_path, text)).training
    assert (tier.min_run_h, tier.min_off_h, tier.on_power_frac) == (0.0, 1.5, 0.4)
