"""Term runs from a run profile: `energyhedge optimize` on a [term] profile, its outputs, the
engines agreeing through the command line, warm starts and the product templates."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from mpi_launch import mpiexec, mpiexec_run

from energyhedge import term_run
from energyhedge.cli import main
from energyhedge.errors import ConfigError
from energyhedge.instruments import load_catalogue
from energyhedge.model.measures import var_cvar
from energyhedge.report.term import SCHEMA_PATH
from energyhedge.runs import load_run_profile

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def term_profile(tmp_path, repo_root, *, months=1, extra="", scenarios="", out_of_sample=10) -> str:
    """January 2024 (or more months) of the demo campus, hedged with the term catalogue."""
    path = tmp_path / "term.toml"
    path.write_text(
        f"""
[run]
campus = "{repo_root / "models/campus/tx-100mw.toml"}"
contracts = "{repo_root / "models/contracts/ercot-term.toml"}"
[scenarios]
n = 8
seed = 3
start = 2024-01-01
month_window = 1
{scenarios}
[risk]
alpha = 0.9
lambda = 1.0
[out_of_sample]
n = {out_of_sample}
[term]
months = {months}
{extra}
""",
        encoding="utf-8",
    )
    return str(path)


def test_term_run_writes_its_outputs(tmp_path, repo_root, capsys):
    config = term_profile(tmp_path, repo_root)
    out = tmp_path / "out"
    assert main(["optimize", "--config", config, "--out", str(out), "--engine", "decomposed"]) == 0
    printed = capsys.readouterr()
    assert "engine decomposed (requested)" in printed.err  # progress on stderr
    assert "Out of sample: CVaR90%" in printed.out
    doc = json.loads((out / "term.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["months"] == ["2024-01"]
    assert doc["engine"]["name"] == "decomposed"
    assert {t["product"] for t in doc["trades"]} <= {
        "block_5x16_2024-01",
        "block_7x8_2024-01",
        "block_2x16_2024-01",
        "call_250_5x16_2024-01",
        "scarcity_1000_7x24",
    }
    # the in-sample valuation (the ladder: this campus is hour-separable) reproduces the
    # engine's objective (operations LPs): E[C] + lambda CVaR of the recommended strategy
    rec = doc["risk"]["in_sample"]["recommended"]
    assert rec["expected_cost_usd"] + rec["cvar_usd"] == pytest.approx(
        doc["engine"]["upper_bound_usd"], rel=1e-7
    )
    html = (out / "term.html").read_text()
    assert "out of sample: fresh paths" in html and "<svg" in html
    nonzeros = doc["engine"]["size"]["extensive_form"]["nonzeros"]
    assert f'<td class="n">{nonzeros:,}</td>' in html  # counts printed whole
    assert (out / "trades.csv").read_text().startswith("position,product,")


def test_engines_agree_through_the_command_line(tmp_path, repo_root):
    config = term_profile(tmp_path, repo_root)
    docs = {}
    for engine in ("ef", "decomposed"):
        out = tmp_path / engine
        assert main(["optimize", "--config", config, "--out", str(out), "--engine", engine]) == 0
        docs[engine] = json.loads((out / "term.json").read_text())
    ef, dec = docs["ef"]["engine"], docs["decomposed"]["engine"]
    assert dec["upper_bound_usd"] == pytest.approx(ef["upper_bound_usd"], rel=1e-6)
    oos = {e: d["risk"]["out_of_sample"]["recommended"]["cvar_usd"] for e, d in docs.items()}
    assert oos["decomposed"] == pytest.approx(oos["ef"], rel=1e-5)


def test_the_next_run_starts_from_the_last_commitment(tmp_path, repo_root):
    config = term_profile(tmp_path, repo_root)
    out = tmp_path / "out"
    args = ["optimize", "--config", config, "--out", str(out), "--engine", "decomposed"]
    assert main(args) == 0
    first = json.loads((out / "term.json").read_text())
    assert first["warm_start"] is None
    assert main(args) == 0
    second = json.loads((out / "term.json").read_text())
    warm = second["warm_start"]
    assert warm["from_run"] == first["run_id"]
    assert warm["previous_iterations"] == first["engine"]["iterations"]
    assert warm["iterations"] <= first["engine"]["iterations"]
    assert second["engine"]["upper_bound_usd"] == pytest.approx(
        first["engine"]["upper_bound_usd"], rel=1e-7
    )


def test_out_of_sample_chunks_weigh_their_paths(tmp_path, repo_root, monkeypatch):
    """Valued in chunks of 4, the 10 fresh paths give the measures of their pooled costs."""
    captured = {}
    measures = term_run.risk_measures

    def spy(cost, p, alpha):
        captured.setdefault("calls", []).append((np.asarray(cost), np.asarray(p)))
        return measures(cost, p, alpha)

    monkeypatch.setattr(term_run, "OUT_OF_SAMPLE_CHUNK", 4)
    monkeypatch.setattr(term_run, "risk_measures", spy)
    config = term_profile(tmp_path, repo_root)
    assert main(["optimize", "--config", config, "--out", str(tmp_path / "o")]) == 0
    doc = json.loads((tmp_path / "o/term.json").read_text())
    pooled = [c for c in captured["calls"] if c[0].size == 10]
    assert len(pooled) == 3  # the three strategies out of sample, 4 + 3 + 3 paths
    cost, p = pooled[0]
    assert p.sum() == pytest.approx(1.0)
    _, cvar = var_cvar(cost, p, 0.9)
    assert doc["risk"]["out_of_sample"]["recommended"]["cvar_usd"] == pytest.approx(cvar)


def test_engine_options_need_a_term_profile(tmp_path, repo_root, capsys):
    config = str(repo_root / "models/runs/demo-ercot.toml")
    code = main(
        ["optimize", "--config", config, "--out", str(tmp_path / "x"), "--engine", "mpisppy"]
    )
    assert code == 2
    assert "apply to term runs" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("scenarios", "message"),
    [
        ("days = 31", "not days"),
        ("", None),
    ],
)
def test_term_profile_sets_the_horizon_from_months(tmp_path, repo_root, scenarios, message):
    config = term_profile(tmp_path, repo_root, months=3, scenarios=scenarios)
    if message:
        with pytest.raises(ConfigError, match=message):
            load_run_profile(config)
        return
    profile = load_run_profile(config)
    assert profile.scenarios.days == 31 + 29 + 31  # January to March 2024 (a leap year)
    assert profile.term.months == 3 and profile.term.engine == "auto"


def test_term_run_starts_on_the_first_of_a_month(tmp_path, repo_root):
    config = term_profile(tmp_path, repo_root)
    path = Path(config)
    path.write_text(path.read_text().replace("2024-01-01", "2024-01-15"), encoding="utf-8")
    with pytest.raises(ConfigError, match="first of a month"):
        load_run_profile(config)


def test_monthly_and_quarterly_templates(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        """
[catalogue]
name = "t"
iso = "ercot"
node = "LZ_HOUSTON"
market = "rtm"
[[product]]
name = "b"
kind = "block"
shape = "5x16"
tenor = "monthly"
[[product]]
name = "q"
kind = "call"
shape = "7x24"
tenor = "quarterly"
strike_usd_per_mwh = 100.0
""",
        encoding="utf-8",
    )
    catalogue = load_catalogue(path).over_days(date(2024, 2, 10), date(2024, 4, 5))
    dated = {(s.name, s.start, s.end) for s in catalogue}
    assert dated == {
        ("b_2024-02", date(2024, 2, 10), date(2024, 2, 29)),
        ("b_2024-03", date(2024, 3, 1), date(2024, 3, 31)),
        ("b_2024-04", date(2024, 4, 1), date(2024, 4, 5)),
        ("q_2024-Q1", date(2024, 2, 10), date(2024, 3, 31)),
        ("q_2024-Q2", date(2024, 4, 1), date(2024, 4, 5)),
    }
    text = path.read_text().replace(
        "strike_usd_per_mwh = 100.0", "strike_usd_per_mwh = 100.0\npremium_usd_per_mw = 5.0"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="quoted per MWh"):
        load_catalogue(path)


def test_term_run_shared_by_two_mpi_ranks(tmp_path, repo_root):
    """Under ``mpiexec -n 2`` the decomposition and the out-of-sample chunks (2 of 1,250
    paths) are split between the ranks; rank 0 alone writes, and the figures are the
    single-process run's."""
    assert term_run.OUT_OF_SAMPLE_CHUNK < 2500 <= 2 * term_run.OUT_OF_SAMPLE_CHUNK
    config = term_profile(tmp_path, repo_root, out_of_sample=2500)
    args = ["optimize", "--config", config, "--engine", "decomposed"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    work = tmp_path / "work"
    work.mkdir()
    printed = mpiexec(2, ["-m", "energyhedge", *args, "--out", str(work / "two")], cwd=work)
    assert printed.count("wrote ") == 1  # one rank writes
    one = json.loads((tmp_path / "one/term.json").read_text())
    two = json.loads((work / "two/term.json").read_text())
    assert (one["engine"]["ranks"], two["engine"]["ranks"]) == (1, 2)
    assert two["engine"]["upper_bound_usd"] == pytest.approx(
        one["engine"]["upper_bound_usd"], rel=1e-9
    )
    assert two["risk"] == one["risk"]
    assert sorted(p.name for p in work.iterdir()) == ["two"]


def test_a_failure_on_rank_zero_ends_every_rank(tmp_path, repo_root):
    """The extensive form is solved on rank 0 alone; when HiGHS stops there (an iteration
    limit of 1), every rank reports the error and exits instead of waiting for its result."""
    extra = "[solver.highs]\nsimplex_iteration_limit = 1"
    config = term_profile(tmp_path, repo_root, extra=extra)
    args = ["-m", "energyhedge", "optimize", "--config", config, "--engine", "ef"]
    done = mpiexec_run(2, [*args, "--out", str(tmp_path / "out")], cwd=tmp_path, timeout=120)
    assert done.returncode != 0
    assert done.stderr.count("Iteration limit reached") == 2  # both ranks say why
    assert not (tmp_path / "out").exists()
