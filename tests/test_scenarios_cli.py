"""`energyhedge scenarios generate|validate` end to end on the self-seeding store."""

from __future__ import annotations

import argparse
import re
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from test_scenarios_support import houston

from energyhedge.commands import scenarios as command
from energyhedge.data.store import open_store
from energyhedge.errors import ConfigError, DataError
from energyhedge.scenarios import CapEvent, HistoricalReplay, generate
from energyhedge.scenarios.io import COLUMNS, read_scenarios


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="energyhedge")
    command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


COMMON = ["--iso", "ercot", "--node", "LZ_HOUSTON", "--market", "rtm"]


def test_generate_writes_long_parquet_equal_to_python_api(tmp_path: Path) -> None:
    out = tmp_path / "s.parquet"
    argv = ["scenarios", "generate", *COMMON, "--start", "2023-11-04", "--days", "2"]
    argv += ["--n", "5", "--seed", "9", "--model", "regime", "--out", str(out)]
    argv += ["--replay", "aug:2023-08-17:2023-08-17:18-21@0.05"]
    argv += ["--cap-event", "cap:2023-11-05:18:3@0.01"]
    assert _run(argv) == 0
    frame = pl.read_parquet(out)
    assert frame.columns == list(COLUMNS)
    assert frame.height == 7 * (24 + 25)
    back = read_scenarios(out)
    expected = generate(
        open_store().read("ercot", "rtm", "LZ_HOUSTON"),
        iso="ercot",
        node="LZ_HOUSTON",
        market="rtm",
        start=date(2023, 11, 4),
        days=2,
        n=5,
        seed=9,
        model="regime",
        stress=(
            HistoricalReplay("aug", date(2023, 8, 17), date(2023, 8, 17), 0.05, hours=(18, 21)),
            CapEvent("cap", hours=3, start_hour=18, probability=0.01, day=date(2023, 11, 5)),
        ),
    )
    np.testing.assert_array_equal(back.prices_usd_per_mwh, expected.prices_usd_per_mwh)
    np.testing.assert_array_equal(back.interval_start_utc, expected.interval_start_utc)
    np.testing.assert_allclose(back.probabilities, [0.94 / 5] * 5 + [0.05, 0.01])
    assert back.kind.tolist() == ["regime"] * 5 + ["stress:aug", "stress:cap"]
    assert (back.iso, back.market, back.node, back.interval_minutes) == (
        "ercot",
        "rtm",
        "LZ_HOUSTON",
        60,
    )


def test_generate_unknown_node_fails_without_writing(tmp_path: Path) -> None:
    out = tmp_path / "s.parquet"
    argv = [
        "scenarios",
        "generate",
        "--iso",
        "ercot",
        "--node",
        "HB_NOWHERE",
        "--start",
        "2024-01-01",
        "--days",
        "1",
        "--n",
        "2",
        "--seed",
        "1",
        "--out",
        str(out),
    ]
    with pytest.raises(DataError, match="no prices for ercot/rtm/HB_NOWHERE"):
        _run(argv)
    assert not out.exists()


def test_malformed_replay_spec_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "scenarios",
        "generate",
        *COMMON,
        "--start",
        "2024-01-01",
        "--days",
        "1",
        "--n",
        "2",
        "--seed",
        "1",
        "--out",
        "x.parquet",
        "--replay",
        "aug2023@0.1",
    ]
    with pytest.raises(SystemExit) as exc:
        _run(argv)
    assert exc.value.code == 2
    assert "NAME:FIRST_DAY:LAST_DAY" in capsys.readouterr().err


def _august_mean_run_hours() -> float:
    """Mean length of runs of hours above $1,000 starting in August 2023, counted one by one."""
    hist = houston()
    local = hist["interval_start_utc"].dt.convert_time_zone("America/Chicago")
    runs, length = [], 0
    for price, month in zip(hist["price_usd_per_mwh"], local.dt.month(), strict=True):
        if price > 1000.0:
            if length == 0:
                start_month = month
            length += 1
        elif length:
            runs.append((start_month, length))
            length = 0
    august = [n for m, n in runs if m == 8]
    return sum(august) / len(august)


@pytest.mark.parametrize("model", ["bootstrap", "regime"])
def test_validate_writes_table_and_plot(tmp_path: Path, model: str) -> None:
    argv = [
        "scenarios",
        "validate",
        *COMMON,
        "--model",
        model,
        "--n",
        "60",
        "--seed",
        "3",
        "--out",
        str(tmp_path),
    ]
    assert _run(argv) == 0
    stem = f"validation_ercot_rtm_LZ_HOUSTON_{model}"
    table = pl.read_csv(tmp_path / f"{stem}.csv")
    august = table.filter(
        (pl.col("month") == 8)
        & pl.col("hour").is_null()
        & (pl.col("statistic") == "share_above_1000")
    )
    assert august["historical"][0] == pytest.approx(42 / 744)
    spike_hours = table.filter(
        (pl.col("month") == 8) & pl.col("hour").is_null() & (pl.col("statistic") == "spike_hours")
    )["historical"][0]
    assert spike_hours == pytest.approx(_august_mean_run_hours())
    assert table.filter(pl.col("hour").is_not_null())["hour"].n_unique() == 24
    assert set(table["statistic"]) == {
        "mean",
        "p50",
        "p95",
        "p99",
        "p99_9",
        "share_above_1000",
        "share_above_3000",
        "spike_hours",
    }
    assert (tmp_path / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_then_generate_with_saved_parameters_equals_fitting_in_process(
    tmp_path: Path,
) -> None:
    params = tmp_path / "houston.json"
    assert _run(["scenarios", "fit", *COMMON, "--out", str(params)]) == 0
    gen = [
        "scenarios",
        "generate",
        *COMMON,
        "--start",
        "2024-08-01",
        "--days",
        "3",
        "--n",
        "4",
        "--seed",
        "5",
        "--model",
        "regime",
    ]
    assert _run([*gen, "--out", str(tmp_path / "a.parquet"), "--regime-params", str(params)]) == 0
    assert _run([*gen, "--out", str(tmp_path / "b.parquet")]) == 0
    a = read_scenarios(tmp_path / "a.parquet").prices_usd_per_mwh
    b = read_scenarios(tmp_path / "b.parquet").prices_usd_per_mwh
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="--model regime only"):
        _run(
            [
                *gen[:-1],
                "bootstrap",
                "--out",
                str(tmp_path / "c.parquet"),
                "--regime-params",
                str(params),
            ]
        )


@pytest.mark.parametrize(("cap", "said"), [("5", "5000 $/MWh?"), ("250000", "250 $/MWh?")])
def test_offer_cap_unit_mistake_is_refused(tmp_path: Path, cap: str, said: str) -> None:
    argv = ["scenarios", "generate", *COMMON, "--start", "2023-08-01", "--days", "1"]
    argv += ["--n", "2", "--seed", "1", "--offer-cap", cap, "--out", str(tmp_path / "s.parquet")]
    with pytest.raises(ConfigError, match=f"--offer-cap {cap}: .*{re.escape(said)}"):
        _run(argv)
    assert not (tmp_path / "s.parquet").exists()


def test_out_folder_where_a_file_is_expected_is_refused(tmp_path: Path) -> None:
    argv = ["scenarios", "generate", *COMMON, "--start", "2023-08-01", "--days", "1"]
    argv += ["--n", "2", "--seed", "1", "--out", str(tmp_path)]
    with pytest.raises(ConfigError, match="is a folder, expected a file"):
        _run(argv)
    fit = ["scenarios", "fit", *COMMON, "--out", str(tmp_path)]
    with pytest.raises(ConfigError, match="is a folder, expected a file"):
        _run(fit)
