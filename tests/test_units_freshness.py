"""Unit-mistake bands for $/MWh inputs (energyhedge.units) and stale-data rule (freshness)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from energyhedge.cli import main
from energyhedge.errors import ConfigError, DataError
from energyhedge.freshness import FreshnessRule, check_freshness
from energyhedge.instruments import load_catalogue
from energyhedge.runs import load_run_profile
from energyhedge.units import OFFER_CAP, PREMIUM, PRICE, heat_rate_problem, price_problem

HEAD = '[catalogue]\niso = "{iso}"\nnode = "HB_NORTH"\nmarket = "rtm"\n\n[[product]]\n'
BLOCK = 'name = "block_7x24"\nkind = "block"\nshape = "7x24"\ntenor = "horizon"\n'
CALL = 'name = "call_250"\nkind = "call"\nshape = "5x16"\ntenor = "horizon"\n'


def _catalogue(tmp_path: Path, body: str, iso: str = "ercot") -> Path:
    path = tmp_path / "contracts.toml"
    path.write_text(HEAD.format(iso=iso) + body)
    return path


@pytest.mark.parametrize(
    ("value", "kind", "iso", "expected"),
    [
        (0.055, PRICE, "ercot", "0.055 looks like $/kWh: 55 $/MWh?"),
        (0.25, PRICE, "pjm", "0.25 looks like $/kWh: 250 $/MWh?"),
        (250000.0, PRICE, "ercot", "above the ERCOT offer cap plus adders (9,500 $/MWh)"),
        (250000.0, PRICE, "ercot", "250 $/MWh?"),
        (6000.0, PRICE, "pjm", "above the PJM offer cap plus adders (5,000 $/MWh)"),
        (-300.0, PRICE, "ercot", "below the ERCOT price floor (-250)"),
        (-5.0, PREMIUM, "ercot", "-5 $/MWh is negative"),
        (20000.0, PRICE, None, "above the any ISO offer cap plus adders (9,500 $/MWh)"),
    ],
)
def test_implausible_prices_name_the_likely_mistake(value, kind, iso, expected):
    assert expected in price_problem(value, kind, iso)


@pytest.mark.parametrize(
    ("value", "kind", "iso"),
    [
        (9000.0, PRICE, "ercot"),
        (-300.0, PRICE, "pjm"),
        (0.0, PRICE, "ercot"),
        (0.4, PREMIUM, "pjm"),
        (2000.0, OFFER_CAP, "pjm"),
    ],
)
def test_plausible_prices_pass(value, kind, iso):
    assert price_problem(value, kind, iso) is None


def test_heat_rate_in_btu_per_kwh_is_named():
    assert heat_rate_problem(7000.0) == "7000 looks like Btu/kWh: 7 MMBtu/MWh?"
    assert heat_rate_problem(10.0) is None


@pytest.mark.parametrize(
    ("body", "key", "hint"),
    [
        (BLOCK + "price_usd_per_mwh = 0.055\n", "price_usd_per_mwh", "55 $/MWh?"),
        (CALL + "strike_usd_per_mwh = 0.25\n", "strike_usd_per_mwh", "250 $/MWh?"),
        (CALL + "strike_usd_per_mwh = 250000\n", "strike_usd_per_mwh", "offer cap plus adders"),
        (
            CALL + "strike_usd_per_mwh = 250\npremium_usd_per_mwh = -4\n",
            "premium_usd_per_mwh",
            "is negative",
        ),
        (
            'name = "s"\nkind = "scarcity"\nshape = "7x24"\ntenor = "horizon"\n'
            "strike_usd_per_mwh = 1000\npayout_cap_usd_per_mwh = 5000000\n",
            "payout_cap_usd_per_mwh",
            "5000 $/MWh?",
        ),
        (CALL + "strike_usd_per_mwh = 250\nloading = 10\n", "loading", "percentage: 0.1?"),
    ],
)
def test_catalogue_refuses_unit_mistakes_unless_allowed(tmp_path, body, key, hint):
    path = _catalogue(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_catalogue(path)
    message = str(info.value)
    assert message.startswith(f"{path}: product[0].{key}: ")
    assert hint in message and "allow_unusual_values = true" in message
    assert len(load_catalogue(path, allow_unusual_values=True)) == 1


def _profile(tmp_path: Path, run_extra: str = "", contracts: Path | None = None) -> Path:
    repo = Path(__file__).resolve().parents[1]
    contracts = contracts or repo / "models/contracts/ercot-standard.toml"
    path = tmp_path / "run.toml"
    path.write_text(
        f'[run]\ncampus = "{repo}/models/campus/tx-100mw.toml"\ncontracts = "{contracts}"\n'
        f"{run_extra}\n[scenarios]\nn = 5\nseed = 1\n\n[risk]\nalpha = 0.9\n"
    )
    return path


def test_quote_in_dollars_per_kwh_is_refused_unless_the_profile_allows(tmp_path):
    strict = load_run_profile(_profile(tmp_path)).with_overrides(
        quotes_usd_per_mwh=(("block_7x24", 0.11),)
    )
    with pytest.raises(ConfigError, match=r"--quote block_7x24=0.11: 0.11 looks like \$/kWh: 110"):
        strict.contracts()
    allowed = load_run_profile(_profile(tmp_path, "allow_unusual_values = true"))
    quoted = allowed.with_overrides(quotes_usd_per_mwh=(("block_7x24", 0.11),)).contracts()
    (block,) = [p for p in quoted if p.name == "block_7x24"]
    assert block.fixed_price_usd_per_mwh == 0.11


def test_negative_option_quote_is_refused(tmp_path):
    profile = load_run_profile(_profile(tmp_path)).with_overrides(
        quotes_usd_per_mwh=(("scarcity_1000_7x24", -2.0),)
    )
    with pytest.raises(ConfigError, match="scarcity_1000_7x24=-2: -2 \\$/MWh is negative"):
        profile.contracts()


def test_optimize_cli_refuses_a_kwh_quote_with_exit_2(tmp_path, capsys):
    argv = ["optimize", "--config", str(_profile(tmp_path)), "--out", str(tmp_path / "o")]
    assert main([*argv, "--quote", "block_7x24=0.11"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "looks like $/kWh: 110 $/MWh?" in err
    assert not (tmp_path / "o").exists()


def test_profile_offer_cap_in_kwh_is_refused(tmp_path):
    path = _profile(tmp_path)
    path.write_text(path.read_text().replace("seed = 1", "seed = 1\noffer_cap_usd_per_mwh = 5.0"))
    with pytest.raises(
        ConfigError,
        match=r"scenarios.offer_cap_usd_per_mwh: 5 \$/MWh is below the lowest offer cap on file "
        r"\(1,000 \$/MWh\); 5 looks like \$/kWh: 5000 \$/MWh\?",
    ):
        load_run_profile(path)


LAST = datetime(2023, 12, 31, 23)


def test_history_years_before_the_run_is_stale_exit_3():
    with pytest.raises(DataError) as info:
        check_freshness(
            LAST, date(2026, 12, 2), date(2026, 12, 1), FreshnessRule(), series="ercot/rtm/LZ_X"
        )
    message = str(info.value)
    assert info.value.exit_code == 3
    assert "ercot/rtm/LZ_X price is from 2023-12-31 (UTC), 1,066 days before" in message
    assert "allow_stale_data = true" in message and "\n" not in message


def test_stale_history_is_a_warning_when_allowed():
    rule = FreshnessRule(max_history_age_days=30, allow_stale_data=True)
    (warning,) = check_freshness(LAST, date(2026, 12, 2), date(2026, 12, 1), rule)
    assert warning.startswith("WARNING stale data") and "1,066 days" in warning


@pytest.mark.parametrize(
    ("start", "as_of", "fresh"),
    [
        (date(2024, 1, 8), date(2024, 1, 7), True),  # 7 days: at the limit
        (date(2024, 1, 9), date(2024, 1, 8), False),  # 8 days
        (date(2023, 8, 17), date(2026, 12, 1), True),  # replay of a past horizon
        (date(2024, 3, 1), date(2024, 1, 2), True),  # forward decision made on fresh data
    ],
)
def test_age_is_counted_to_the_decision_day(start, as_of, fresh):
    if fresh:
        assert check_freshness(LAST, start, as_of, FreshnessRule()) == []
    else:
        with pytest.raises(DataError, match="8 days before the decision day 2024-01-08"):
            check_freshness(LAST, start, as_of, FreshnessRule())


def test_profile_freshness_keys(tmp_path):
    profile = load_run_profile(
        _profile(tmp_path, "max_history_age_days = 30\nallow_stale_data = true")
    )
    assert profile.freshness == FreshnessRule(30.0, True)
    assert load_run_profile(_profile(tmp_path)).freshness == FreshnessRule(7.0, False)
    for bad, reason in (
        ("max_history_age_days = nan", "must be a finite number"),
        ("max_history_age_days = -1", "must be >= 0"),
        ('allow_stale_data = "yes"', "expected true or false, got a string"),
    ):
        with pytest.raises(ConfigError, match=f"run.toml: run.{bad.split()[0]}: {reason}"):
            load_run_profile(_profile(tmp_path, bad))
