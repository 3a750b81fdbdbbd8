"""The worked example of the domain primer to the dollar, through campus, contracts, valuation."""

from __future__ import annotations

import json

import pytest

from energyhedge.cli import main
from energyhedge.example import virtual_peaker


@pytest.mark.parametrize(
    ("price", "value", "unhedged", "peaker"),
    [
        (9_000.0, 3.75, -2_400_000, 1_400_000),
        (5_000.0, 3.75, -800_000, 760_000),
        (9_000.0, 2.00, -2_960_000, 1_232_000),
    ],
)
def test_margins_to_the_dollar(price, value, unhedged, peaker):
    result = virtual_peaker(price, 4, value)
    assert round(result["unhedged_margin_usd"]) == unhedged
    assert round(result["virtual_peaker_margin_usd"]) == peaker


def test_every_line_item_of_the_primer_table():
    result = virtual_peaker(9_000.0, 4, 3.75)
    u, v = result["unhedged"], result["virtual_peaker"]
    assert u["energy_mwh"] == pytest.approx(400.0)
    assert v["energy_mwh"] == pytest.approx(120.0)
    assert u["energy_cost_usd"] == pytest.approx(3_600_000.0)
    assert v["energy_cost_usd"] == pytest.approx(1_080_000.0)
    assert u["value_produced_usd"] == pytest.approx(1_200_000.0)
    assert v["value_produced_usd"] == pytest.approx(360_000.0)
    assert u["hedge_payoff_usd"] == 0.0
    assert v["hedge_payoff_usd"] == pytest.approx(2_240_000.0)  # (9,000 - 1,000) x 280 MWh
    assert u["premium_usd"] == 0.0
    assert v["premium_usd"] == pytest.approx(120_000.0)
    for line in ("cp_tag_usd", "dr_revenue_usd", "penalties_usd"):
        assert u[line] == 0.0 and v[line] == 0.0
    assert result["break_even_usd_per_mwh"] == [pytest.approx(3_000.0)]
    assert "Reconstructed" in result["label"]


def test_cli_json_and_table(capsys):
    assert main(["example", "virtual-peaker", "--price", "5000", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert round(doc["unhedged_margin_usd"]) == -800_000
    assert round(doc["virtual_peaker_margin_usd"]) == 760_000
    assert main(["example", "virtual-peaker"]) == 0
    table = capsys.readouterr().out
    assert "Reconstructed" in table
    assert "-2,400,000" in table and "1,400,000" in table
    assert "2,240,000" in table and "-120,000" in table and "-3,600,000" in table


def test_bad_hours_is_a_config_error(capsys):
    assert main(["example", "virtual-peaker", "--hours", "0"]) == 2
    assert "--hours" in capsys.readouterr().err
