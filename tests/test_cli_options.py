"""Shared command-line options: --lambda and --cvar-budget exclude each other."""

from __future__ import annotations

import argparse

import pytest

from energyhedge.cli import main
from energyhedge.commands.arguments import add_cvar_options


def test_lambda_and_budget_together_exit_2(capsys):
    parser = argparse.ArgumentParser(prog="energyhedge optimize")
    add_cvar_options(parser)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--lambda", "1", "--cvar-budget", "5e5"])
    assert info.value.code == 2
    assert "argument --cvar-budget: not allowed with argument --lambda" in capsys.readouterr().err
    args = parser.parse_args(["--cvar-budget", "5e5", "--alpha", "0.9"])
    assert (args.cvar_weight, args.cvar_budget, args.alpha) == (None, 5e5, 0.9)


def test_optimize_refuses_lambda_with_budget(tmp_path, capsys):
    argv = ["optimize", "--config", "run.toml", "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--lambda", "1", "--cvar-budget", "5e5"])
    assert info.value.code == 2
