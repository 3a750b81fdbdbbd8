"""`energyhedge fleet` on bad input: a clear message and the documented exit code."""

from __future__ import annotations

from pathlib import Path

from energyhedge.cli import main

REPO = Path(__file__).resolve().parents[1]


def _profile(tmp_path: Path, history: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(
        f'[run]\nfleet = "{REPO / "models" / "fleet" / "tx-pjm.toml"}"\n{history}'
        "[scenarios]\nn = 10\nstart = 2025-08-01\n[out_of_sample]\nn = 10\n",
        encoding="utf-8",
    )
    return path


def test_missing_history_file_is_named(tmp_path: Path, capsys):
    missing = tmp_path / "nowhere.parquet"
    profile = _profile(tmp_path, f'[[history]]\nfile = "{missing}"\n')
    code = main(["fleet", "--config", str(profile), "--offline", "--out", str(tmp_path / "o")])
    assert code == 3
    assert f"history file {missing} not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_offline_needs_history_files(tmp_path: Path, capsys):
    profile = _profile(tmp_path, "")
    code = main(["fleet", "--config", str(profile), "--offline", "--out", str(tmp_path / "o")])
    assert code == 3
    assert "--offline needs [[history]] files" in capsys.readouterr().err


def test_unknown_profile_key_is_refused(tmp_path: Path, capsys):
    profile = _profile(tmp_path, "[risk]\nlamda = 1.0\n")
    code = main(["fleet", "--config", str(profile), "--offline", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "risk.lamda: unknown key" in capsys.readouterr().err


def test_reservation_on_a_movable_class_is_refused(tmp_path: Path, capsys):
    fleet = (REPO / "models" / "fleet" / "tx-pjm.toml").read_text(encoding="utf-8")
    fleet = fleet.replace('"../', f'"{REPO / "models"}/')
    fleet = fleet.replace(
        'campus = "pjm-western-100mw"\ntier = "finetune"', 'campus = "tx-100mw"\ntier = "training"'
    )
    (tmp_path / "fleet-file.toml").write_text(fleet, encoding="utf-8")
    profile = tmp_path / "fleet.toml"
    profile.write_text(
        f'[run]\nfleet = "{tmp_path / "fleet-file.toml"}"\n'
        "[scenarios]\nn = 10\nstart = 2025-08-01\n[out_of_sample]\nn = 10\n",
        encoding="utf-8",
    )
    code = main(["fleet", "--config", str(profile), "--offline", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "reservation on tx-100mw/training, a class that may move" in capsys.readouterr().err
