"""Layering: the optimiser package loads lazily, and ruff bans solver and network imports
outside their folders."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

import energyhedge.optimize

SOLVERS = ("highspy", "pyomo", "cvxpy")


def loaded_after(statement: str) -> list[str]:
    """Modules in ``sys.modules`` after running ``statement`` in a fresh interpreter."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(out.stdout)


def test_run_profile_loader_imports_no_solver():
    loaded = loaded_after("import energyhedge.runs")
    assert "energyhedge.runs" in loaded and "energyhedge.optimize.options" in loaded
    assert [m for m in loaded if m.split(".")[0] in (*SOLVERS, "scipy")] == []
    heavy = {"energyhedge.optimize.lp", "energyhedge.optimize.highs", "energyhedge.optimize.engine"}
    assert heavy.isdisjoint(loaded)


def test_optimize_package_and_options_import_no_scipy():
    loaded = loaded_after("from energyhedge.optimize import SolveOptions")
    assert [m for m in loaded if m.split(".")[0] in (*SOLVERS, "scipy")] == []


def test_names_load_on_first_use():
    assert energyhedge.optimize.solve.__module__ == "energyhedge.optimize.engine"
    for name in energyhedge.optimize.__all__:
        assert getattr(energyhedge.optimize, name) is not None
    assert set(energyhedge.optimize.__all__) <= set(dir(energyhedge.optimize))
    with pytest.raises(AttributeError, match="has no attribute 'evaluate_costs'"):
        _ = energyhedge.optimize.evaluate_costs


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
@pytest.mark.parametrize(
    ("path", "banned"),
    [
        ("energyhedge/report/new.py", ["pyomo", "highspy", "cvxpy", "requests"]),
        ("energyhedge/risk_new.py", ["pyomo", "highspy", "cvxpy", "requests"]),
        ("energyhedge/optimize/new.py", []),
        ("energyhedge/data/new.py", []),
        ("tests/test_new.py", []),
    ],
)
def test_ruff_bans_solver_and_network_imports_outside_their_folders(repo_root, path, banned):
    source = "import cvxpy\nimport highspy\nimport pyomo.environ\nimport requests\n"
    command = ["ruff", "check", "--no-cache", "--select", "TID251", "--output-format", "json"]
    out = subprocess.run(
        [*command, "--stdin-filename", path, "-"],
        check=False,  # ruff exits 1 when it reports
        input=source,
        capture_output=True,
        text=True,
        cwd=repo_root,
        timeout=60,
    )
    found = sorted(d["message"].split("`")[1] for d in json.loads(out.stdout))
    assert found == sorted(banned)
