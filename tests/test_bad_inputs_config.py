"""Bad-input corpus for configuration files: campus, contracts, run profile and replay TOML.

Each malformed file goes through the command line (``energyhedge.cli.main``) and must end in one
line on stderr naming the file and the key (or line and column for a syntax error), the
documented exit code (2: configuration; 4: an infeasible campus), no traceback and no output.
"""
# ruff: noqa: E501  (the case tables read best one case per line)

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from energyhedge.cli import main

REPO = Path(__file__).resolve().parents[1]
CAMPUS = (REPO / "models/campus/tx-100mw.toml").read_text(encoding="utf-8")
CONTRACTS = """[catalogue]
name = "c"
iso = "ercot"
node = "LZ_HOUSTON"
market = "rtm"

[[product]]
name = "block_7x24"
kind = "block"
shape = "7x24"
tenor = "horizon"
min_mw = -100.0
max_mw = 100.0
price_usd_per_mwh = 60.0

[[product]]
name = "call_250"
kind = "call"
shape = "5x16"
tenor = "horizon"
max_mw = 100.0
strike_usd_per_mwh = 250.0
premium_usd_per_mwh = 4.0
"""
RUN = """[run]
campus = "campus.toml"
contracts = "contracts.toml"

[scenarios]
model = "bootstrap"
n = 20
seed = 7
start = 2023-08-17
days = 1

[[scenarios.replay]]
name = "aug"
first_day = 2023-08-15
last_day = 2023-08-15
hours = [16, 22]
probability = 0.02

[[scenarios.cap_event]]
name = "cap4h"
start_hour = 17
hours = 4
probability = 0.01

[risk]
alpha = 0.95
lambda = 1.0

[solver]
time_limit_s = 60
"""
REPLAY = """[backtest]
config = "run.toml"
start = 2023-08-01
end = 2023-08-07
window_days = 7
"""
GOOD = {"campus": CAMPUS, "contracts": CONTRACTS, "run": RUN, "replay": REPLAY}
FILE = {"campus": "campus.toml", "contracts": "contracts.toml", "run": "run.toml"}
FILE["replay"] = "replay.toml"


@dataclass(frozen=True)
class Case:
    """One malformed file: which kind, how to make it from the good one, what must be said."""

    id: str
    kind: str
    make: Callable[[str], str | bytes]
    fragments: tuple[str, ...]
    exit_code: int = 2


def sub(old: str, new: str) -> Callable[[str], str]:
    """Replace ``old`` (which must occur) by ``new`` in the good file."""

    def make(text: str) -> str:
        assert old in text, f"{old!r} not in the good file"
        return text.replace(old, new, 1)

    return make


def add(line: str, after: str) -> Callable[[str], str]:
    """Insert ``line`` after the first ``after`` line."""
    return sub(after, f"{after}\n{line}")


def const(data: str | bytes) -> Callable[[str], str | bytes]:
    return lambda _text: data


def truncated(text: str) -> str:
    """Cut one character into the first quoted value: an unterminated string."""
    return text[: re.search(r'^\w+ = "', text, re.MULTILINE).end() + 1]


def first_table_twice(text: str) -> str:
    """The first ``[table]`` header declared again."""
    return text + "\n" + re.search(r"^\[[a-z_]+\]$", text, re.MULTILINE).group(0) + "\n"


LONG = "x" * 5000
SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"

GENERIC = [
    ("truncated", truncated, ("not valid TOML: Unterminated string",)),
    ("utf16-bom", lambda t: t.encode("utf-16"), ("not UTF-8 text",)),
    ("binary-junk", const(bytes(range(256)) * 8), ("not UTF-8 text",)),
    ("nul-byte", lambda t: t.replace("\n", "\n\x00", 1), ("not valid TOML",)),
    ("utf8-bom-junk", lambda t: "\ufeff" + t + "\n]]]\n", ("not valid TOML", "line")),
    ("deep-nesting", lambda t: t + "\nz = " + "[" * 3000 + "]" * 3000 + "\n", ()),
    ("too-large", lambda t: t + "#" * 1_100_000 + "\n", ("larger than 1,000,000 bytes",)),
    ("duplicate-table", first_table_twice, ("not valid TOML: Cannot declare",)),
]

CASES: list[Case] = [
    Case(f"{k}-{name}", k, make, frags) for name, make, frags in GENERIC for k in FILE
]
CASES += [Case(f"{k}-empty", k, const(""), frags) for k, frags in (
    ("contracts", ("product: the catalogue lists no [[product]]",)),
    ("run", ("run: required key is missing",)),
    ("replay", ("backtest: required key is missing",)),
)]  # fmt: skip

CASES += [
    # run profile
    Case("run-seed-nan", "run", sub("seed = 7", "seed = nan"), ("scenarios.seed: expected an integer, got a number",)),
    Case("run-seed-float", "run", sub("seed = 7", "seed = 7.5"), ("scenarios.seed: expected an integer",)),
    Case("run-seed-negative", "run", sub("seed = 7", "seed = -1"), ("scenarios.seed: must be >= 0",)),
    Case("run-n-inf", "run", sub("n = 20", "n = inf"), ("scenarios.n: expected an integer",)),
    Case("run-n-one", "run", sub("n = 20", "n = 1"), ("scenarios.n: must be >= 2",)),
    Case("run-days-zero", "run", sub("days = 1", "days = 0"), ("scenarios.days: must be >= 1",)),
    Case("run-alpha-nan", "run", sub("alpha = 0.95", "alpha = nan"), ("risk.alpha: must be a finite number",)),
    Case("run-alpha-above-1", "run", sub("alpha = 0.95", "alpha = 1.5"), ("risk.alpha: must be <= 0.9999",)),
    Case("run-alpha-zero", "run", sub("alpha = 0.95", "alpha = 0.0"), ("risk.alpha: must be >= 0.5",)),
    Case("run-alpha-negative-inf", "run", sub("alpha = 0.95", "alpha = -inf"), ("risk.alpha: must be a finite",)),
    Case("run-lambda-inf", "run", sub("lambda = 1.0", "lambda = inf"), ("risk.lambda: must be a finite",)),
    Case("run-lambda-negative", "run", sub("lambda = 1.0", "lambda = -1"), ("risk.lambda: must be >= 0",)),
    Case("run-lambda-and-budget", "run", add("cvar_budget_usd = 1e6", "lambda = 1.0"), ("risk.cvar_budget_usd: give either",)),
    Case("run-budget-negative", "run", sub("lambda = 1.0", "cvar_budget_usd = -5.0"), ("risk.cvar_budget_usd: must be >= 0",)),
    Case("run-frontier-nan", "run", add("frontier_lambdas = [0.0, nan]", "lambda = 1.0"), ("risk.frontier_lambdas",)),
    Case("run-frontier-string", "run", add('frontier_lambdas = "0,1"', "lambda = 1.0"), ("risk.frontier_lambdas: expected an array, got a string",)),
    Case("run-time-limit-nan", "run", sub("time_limit_s = 60", "time_limit_s = nan"), ("solver.time_limit_s: must be a finite",)),
    Case("run-marginals-int", "run", add("marginals = 1", "time_limit_s = 60"), ("solver.marginals: expected true or false, got an integer",)),
    Case("run-highs-nan", "run", lambda t: t + "\n[solver.highs]\nmip_rel_gap = nan\n", ("solver.highs.mip_rel_gap",)),
    Case("run-unknown-key", "run", add('campsu = "x.toml"', "[run]"), ("run.campsu: unknown key",)),
    Case("run-unknown-table", "run", lambda t: t + "\n[risks]\nalpha = 0.9\n", ("risks: unknown key",)),
    Case("run-campus-int", "run", sub('campus = "campus.toml"', "campus = 5"), ("run.campus: expected a string, got an integer",)),
    Case("run-campus-nul", "run", sub('campus = "campus.toml"', 'campus = "cam\\u0000pus.toml"'), ("run.campus: text contains control characters",)),
    Case("run-start-string", "run", sub("start = 2023-08-17", 'start = "2023-08-17"'), ("scenarios.start: expected a date (YYYY-MM-DD), got a string",)),
    Case("run-start-datetime", "run", sub("start = 2023-08-17", "start = 2023-08-17T10:00:00"), ("scenarios.start: expected a date (YYYY-MM-DD), got a date and time",)),
    Case("run-model-unknown", "run", sub('model = "bootstrap"', 'model = "garch"'), ("scenarios.model: must be one of",)),
    Case("run-offer-cap-kwh", "run", add("offer_cap_usd_per_mwh = 5.0", "days = 1"), ("scenarios.offer_cap_usd_per_mwh", "looks like $/kWh: 5000 $/MWh?")),
    Case("run-offer-cap-1e308", "run", add("offer_cap_usd_per_mwh = 1e308", "days = 1"), ("scenarios.offer_cap_usd_per_mwh", "above")),
    Case("run-cap-price-kwh", "run", add("price_usd_per_mwh = 9.0", "start_hour = 17"), ("scenarios.cap_event[0].price_usd_per_mwh", "9000 $/MWh?")),
    Case("run-cap-start-hour", "run", sub("start_hour = 17", "start_hour = 24"), ("scenarios.cap_event[0].start_hour: must be <= 23",)),
    Case("run-replay-hours-reversed", "run", sub("hours = [16, 22]", "hours = [22, 16]"), ("scenarios.replay[0].hours",)),
    Case("run-replay-days-reversed", "run", sub("last_day = 2023-08-15", "last_day = 2023-08-01"), ("scenarios.replay[0].last_day: must not be before",)),
    Case("run-replay-probability", "run", sub("probability = 0.02", "probability = 2.0"), ("scenarios.replay[0].probability: must be <= 1",)),
    Case("run-replay-script-name", "run", sub('name = "aug"', f'name = "{SCRIPT}"'), ("scenarios.replay[0].name", "not allowed")),
    Case("run-replay-long-name", "run", sub('name = "aug"', f'name = "{LONG}"'), ("scenarios.replay[0].name: text longer than 2,000",)),
    Case("run-allow-string", "run", add('allow_unusual_values = "yes"', "[run]"), ("run.allow_unusual_values: expected true or false",)),
    Case("run-max-age-nan", "run", add("max_history_age_days = nan", "[run]"), ("run.max_history_age_days: must be a finite",)),
    Case("run-campus-missing", "run", sub('campus = "campus.toml"', 'campus = "nowhere.toml"'), ("nowhere.toml: file not found",)),
    # contracts
    Case("contracts-block-kwh", "contracts", sub("price_usd_per_mwh = 60.0", "price_usd_per_mwh = 0.055"), ("product[0].price_usd_per_mwh", "0.055 looks like $/kWh: 55 $/MWh?")),
    Case("contracts-strike-kwh", "contracts", sub("strike_usd_per_mwh = 250.0", "strike_usd_per_mwh = 0.25"), ("product[1].strike_usd_per_mwh", "250 $/MWh?")),
    Case("contracts-strike-huge", "contracts", sub("strike_usd_per_mwh = 250.0", "strike_usd_per_mwh = 250000.0"), ("product[1].strike_usd_per_mwh", "250 $/MWh?")),
    Case("contracts-premium-negative", "contracts", sub("premium_usd_per_mwh = 4.0", "premium_usd_per_mwh = -4.0"), ("product[1].premium_usd_per_mwh", "negative")),
    Case("contracts-premium-per-mw-negative", "contracts", sub("premium_usd_per_mwh = 4.0", "premium_usd_per_mw = -100.0"), ("product[1].premium_usd_per_mw: must not be negative",)),
    Case("contracts-price-nan", "contracts", sub("price_usd_per_mwh = 60.0", "price_usd_per_mwh = nan"), ("product[0].price_usd_per_mwh: must be a finite",)),
    Case("contracts-min-mw-nan", "contracts", sub("min_mw = -100.0", "min_mw = nan"), ("product[0].min_mw: must be a finite",)),
    Case("contracts-max-mw-inf", "contracts", sub("max_mw = 100.0", "max_mw = inf"), ("product[0].max_mw: must be a finite",)),
    Case("contracts-max-mw-1e308", "contracts", sub("max_mw = 100.0", "max_mw = 1e308"), ("product[0].max_mw: must be <= 100000",)),
    Case("contracts-min-above-max", "contracts", sub("min_mw = -100.0", "min_mw = 150.0"), ("product[0].max_mw: must be >= min_mw (150)",)),
    Case("contracts-call-sold", "contracts", add("min_mw = -5.0", 'name = "call_250"'), ("product[1].min_mw: only blocks may be sold",)),
    Case("contracts-kind-unknown", "contracts", sub('kind = "call"', 'kind = "swap"'), ("product[1].kind: must be one of",)),
    Case("contracts-shape-unknown", "contracts", sub('shape = "5x16"', 'shape = "6x16"'), ("product[1].shape: must be one of",)),
    Case("contracts-iso-unknown", "contracts", sub('iso = "ercot"', 'iso = "caiso"'), ("product[0].iso: must be one of",)),
    Case("contracts-script-name", "contracts", sub('name = "call_250"', f'name = "{SCRIPT}"'), ("product[1].name", "not allowed")),
    Case("contracts-formula-name", "contracts", sub('name = "call_250"', f'name = "{FORMULA}"'), ("product[1].name", "not allowed")),
    Case("contracts-long-name", "contracts", sub('name = "call_250"', f'name = "{LONG}"'), ("product[1].name: text longer than 2,000",)),
    Case("contracts-empty-node", "contracts", sub('node = "LZ_HOUSTON"', 'node = ""'), ("product[0].node", "empty name")),
    Case("contracts-unknown-key", "contracts", sub("strike_usd_per_mwh", "strke_usd_per_mwh"), ("product[1].strke_usd_per_mwh: unknown key",)),
    Case("contracts-strike-string", "contracts", sub("strike_usd_per_mwh = 250.0", 'strike_usd_per_mwh = "250"'), ("product[1].strike_usd_per_mwh: expected a number, got a string",)),
    Case("contracts-tenor-and-dates", "contracts", add("start = 2026-08-01", 'tenor = "horizon"'), ("product[0].tenor: give either",)),
    Case("contracts-end-before-start", "contracts", sub('tenor = "horizon"', "start = 2026-08-31\nend = 2026-08-01"), ("product[0].end: must not be before start",)),
    Case("contracts-duplicate-name", "contracts", sub('name = "call_250"', 'name = "block_7x24"'), ("product[1].name: duplicate product name",)),
    Case("contracts-product-not-table", "contracts", const('product = 5\n'), ("product: expected an array, got an integer",)),
    Case("contracts-loading-percent", "contracts", add("loading = 10.0", 'name = "call_250"'), ("product[1].loading", "percentage: 0.1?")),
    Case(
        "contracts-heat-rate-btu",
        "contracts",
        lambda t: t + '\n[[product]]\nname = "hr"\nkind = "heat_rate_call"\nshape = "5x16"\n'
        'tenor = "horizon"\nheat_rate_mmbtu_per_mwh = 7000.0\ngas_usd_per_mmbtu = 3.0\n',
        ("product[2].heat_rate_mmbtu_per_mwh", "Btu/kWh: 7 MMBtu/MWh?"),
    ),
    Case(
        "contracts-payout-cap-nan",
        "contracts",
        lambda t: t + '\n[[product]]\nname = "s"\nkind = "scarcity"\nshape = "7x24"\n'
        'tenor = "horizon"\nstrike_usd_per_mwh = 1000.0\npayout_cap_usd_per_mwh = nan\n',
        ("product[2].payout_cap_usd_per_mwh: must be a finite",),
    ),
    # campus (loaded by energyhedge.campus)
    Case("campus-grid-nan", "campus", sub("grid_limit_mw = 100.0", "grid_limit_mw = nan"), ("grid_limit_mw",)),
    Case("campus-grid-negative", "campus", sub("grid_limit_mw = 100.0", "grid_limit_mw = -100.0"), ("grid_limit_mw",)),
    Case("campus-pue-inf", "campus", sub("pue = 1.25", "pue = inf"), ("pue",)),
    Case("campus-pue-below-one", "campus", sub("pue = 1.25", "pue = 0.5"), ("pue",)),
    Case("campus-gpus-negative", "campus", sub("gpus = 24000", "gpus = -5"), ("gpus",)),
    Case("campus-unknown-key", "campus", sub("grid_limit_mw", "gird_limit_mw"), ("gird_limit_mw",)),
    Case("campus-value-nan", "campus", sub("value_usd_per_gpu_hour = 3.75", "value_usd_per_gpu_hour = nan"), ("value_usd_per_gpu_hour",)),
    Case("campus-iso-unknown", "campus", sub('iso = "ercot"', 'iso = "caiso"'), ("iso",)),
    Case("campus-long-name", "campus", sub('name = "tx-100mw"', f'name = "{LONG}"'), ("site.name: text longer than 2,000",)),
    Case("campus-dr-penalty-negative", "campus", sub("penalty_usd_per_mwh = 5000.0", "penalty_usd_per_mwh = -5.0"), ("penalty_usd_per_mwh",)),
    Case("campus-firm-above-grid", "campus", sub("gpus = 24000", "gpus = 200000"), ("grid",), 4),
]  # fmt: skip

OUTSIDE_MY_FILES = [
    # Accepted: no documented floor for a DR trigger price tells $3/MWh from a unit mistake.
    Case("campus-dr-trigger-kwh", "campus", sub("trigger_usd_per_mwh = 3000.0", "trigger_usd_per_mwh = 3.0"), ("trigger_usd_per_mwh",)),
]  # fmt: skip

CASES += [
    Case("campus-script-name", "campus", sub('name = "tx-100mw"', f'name = "{SCRIPT}"'), ("site.name",)),
    Case("replay-window-days-fraction", "replay", sub("window_days = 7", "window_days = 1.5"), ("backtest.window_days: must be a whole number",)),
    Case("replay-script-node", "replay", add(f'node = "{SCRIPT}"', "[backtest]"), ("backtest.node",)),
]  # fmt: skip

CASES += [
    Case("replay-window-nan", "replay", sub("window_days = 7", "window_days = nan"), ("backtest.window_days: must be a finite",)),
    Case("replay-window-zero", "replay", sub("window_days = 7", "window_days = 0"), ("backtest.window_days: must be >= 1",)),
    Case("replay-start-string", "replay", sub("start = 2023-08-01", 'start = "2023-08-01"'), ("backtest.start: expected a date",)),
    Case("replay-end-before-start", "replay", sub("end = 2023-08-07", "end = 2023-07-01"), ("backtest.end: 2023-07-01 is before the start",)),
    Case("replay-unknown-key", "replay", add("windows = 3", "[backtest]"), ("backtest.windows: unknown key",)),
    Case("replay-fill-negative", "replay", add("fill_missing = -1", "[backtest]"), ("backtest.fill_missing: must be >= 0",)),
    Case("replay-fixed-nan", "replay", lambda t: t + "\n[backtest.fixed_product_mw]\nblock_7x24 = nan\n", ("backtest.fixed_product_mw.block_7x24: must be a finite",)),
    Case("replay-past-only-string", "replay", add('past_only = "yes"', "[backtest]"), ("backtest.past_only: expected true or false",)),
    Case("replay-no-config", "replay", sub('config = "run.toml"', ""), ("backtest.config: required key is missing",)),
]  # fmt: skip


def _workspace(folder: Path) -> None:
    for kind, name in FILE.items():
        (folder / name).write_text(GOOD[kind], encoding="utf-8")


def _command(kind: str, folder: Path) -> list[str]:
    out = ["--out", str(folder / "out")]
    if kind == "campus":
        return ["campus", "show", str(folder / FILE["campus"])]
    if kind == "replay":
        return ["backtest", "--replay", str(folder / FILE["replay"]), *out]
    return ["optimize", "--config", str(folder / FILE["run"]), *out]


def _run_case(case: Case, folder: Path, capsys) -> tuple[int, str]:
    _workspace(folder)
    path = folder / FILE[case.kind]
    data = case.make(GOOD[case.kind])
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", newline="")
    code = main(_command(case.kind, folder))
    return code, capsys.readouterr().err


def _check(case: Case, folder: Path, code: int, err: str) -> None:
    named = folder / FILE[case.kind] if "file not found" not in " ".join(case.fragments) else ""
    assert code == case.exit_code, err
    assert err.count("\n") == 1 and err.startswith("energyhedge: error: "), err
    assert "Traceback" not in err
    assert str(named) in err, err
    for fragment in case.fragments:
        assert fragment in err, err
    assert len(err) < 600, err
    assert not (folder / "out").exists()


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 50
    assert len({c.id for c in CASES + OUTSIDE_MY_FILES}) == len(CASES) + len(OUTSIDE_MY_FILES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_config_file_is_one_line_and_an_exit_code(case, tmp_path, capsys):
    code, err = _run_case(case, tmp_path, capsys)
    _check(case, tmp_path, code, err)


@pytest.mark.parametrize("case", OUTSIDE_MY_FILES, ids=[c.id for c in OUTSIDE_MY_FILES])
@pytest.mark.xfail(reason="accepted on purpose: see OUTSIDE_MY_FILES", strict=True)
def test_bad_config_file_checked_elsewhere(case, tmp_path, capsys):
    code, err = _run_case(case, tmp_path, capsys)
    _check(case, tmp_path, code, err)


@pytest.mark.parametrize("kind", list(FILE))
def test_special_paths_are_refused_without_hanging(kind, tmp_path, capsys):
    _workspace(tmp_path)
    path = tmp_path / FILE[kind]
    path.unlink()
    os.mkfifo(path)  # opening a FIFO for reading would block for ever
    assert main(_command(kind, tmp_path)) == 2
    err = capsys.readouterr().err
    assert f"{path}: not a regular file" in err and err.count("\n") == 1
    path.unlink()
    path.mkdir()
    assert main(_command(kind, tmp_path)) == 2
    assert f"{path}: not a regular file" in capsys.readouterr().err


def test_a_utf8_byte_order_mark_is_accepted(tmp_path, capsys):
    _workspace(tmp_path)
    (tmp_path / "campus.toml").write_text("\ufeff" + CAMPUS, encoding="utf-8")
    assert main(["campus", "show", str(tmp_path / "campus.toml")]) == 0
