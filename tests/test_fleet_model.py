"""Fleet files: the shipped fleet, how a movable class appears at each site, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from energyhedge.errors import ConfigError
from energyhedge.fleet.compute import load_compute
from energyhedge.fleet.model import load_fleet

MODELS = Path(__file__).resolve().parents[1] / "models"
FLEET = MODELS / "fleet" / "tx-pjm.toml"

HEAD = f"""
[fleet]
name = "t"

[[campus]]
file = "{MODELS / "campus" / "tx-100mw.toml"}"
contracts = "{MODELS / "contracts" / "ercot-standard.toml"}"

[[campus]]
file = "{MODELS / "campus" / "pjm-western-100mw.toml"}"
contracts = "{MODELS / "contracts" / "pjm-standard.toml"}"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(HEAD + text, encoding="utf-8")
    return path


def test_shipped_fleet_and_its_site_campuses():
    fleet = load_fleet(FLEET)
    assert fleet.names == ("tx-100mw", "pjm-western-100mw")
    assert fleet.campuses[0].campus.node == "HB_HOUSTON"  # the fleet file's node
    training, inference = fleet.movable
    assert (inference.name, inference.home, inference.must_serve) == (
        "east-inference",
        "pjm-western-100mw",
        True,
    )
    assert training.sites == ("tx-100mw", "pjm-western-100mw")
    assert training.capacity_gpus == {"tx-100mw": 56000.0, "pjm-western-100mw": 6000.0}
    # 5 MW of IT load per hour at 1 kW per GPU is 5,000 GPUs; $400/MW is $0.40 per GPU.
    assert training.migration_gpus_per_h == pytest.approx(5000.0)
    assert training.migration_usd_per_gpu == pytest.approx(0.4)
    pjm = fleet.site_campus("pjm-western-100mw")
    assert [t.name for t in pjm.training] == ["pretrain", "finetune", "training"]
    guest = pjm.training[-1]
    assert guest.gpus == 6000.0
    assert guest.gpu.idle_fraction == 0.0
    np.testing.assert_array_equal(guest.curve_work_frac, [0.0, 1.0])
    assert guest.value_usd_per_gpu_hour == 3.75  # the home tier's value
    tx = fleet.site_campus("tx-100mw")
    assert [t.name for t in tx.training] == ["training"]
    assert [c.name for c in pjm.inference] == []  # PJM's inference is the fleet's to place
    assert [c.name for c in tx.inference] == ["inference"]
    assert all(m.migration_gpus_per_h == 0.0 for m in fleet.without_moves().movable)
    book = load_compute(fleet.compute, FLEET.parent, fleet.names)
    assert book.reservations[0].tier == "finetune"
    assert [b.reservations[0].gpus for b in book.candidates()] == [0.0, 3000.0, 6000.0]
    assert book.swap.max_gpus == 60000.0
    assert book.index.source.startswith("illustrative")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[movable]]\nname = "pretrain"\nhome = "tx-100mw"\nmigration_mw_per_h = 1.0\n'
            '[[movable.site]]\ncampus = "pjm-western-100mw"\ngpus = 10\n',
            "has no training tier or inference class 'pretrain'",
        ),
        (
            '[[movable]]\nname = "training"\nhome = "tx-100mw"\nmigration_mw_per_h = 1.0\n',
            "lists no",
        ),
        (
            '[[movable]]\nname = "inference"\nfleet_name = "east"\nhome = "pjm-western-100mw"\n'
            "migration_mw_per_h = 1.0\nlatency_budget_ms = 40\n"
            '[[movable.site]]\ncampus = "tx-100mw"\ngpus = 10\nlatency_ms = 50\n',
            "over the class's 40 ms budget",
        ),
        (
            '[[movable]]\nname = "training"\nhome = "tx-100mw"\nmigration_mw_per_h = 1.0\n'
            '[[movable.site]]\ncampus = "tx-100mw"\ngpus = 10\n',
            "listed twice",
        ),
        (
            '[[movable]]\nname = "inference"\nhome = "pjm-western-100mw"\n'
            'migration_mw_per_h = 1.0\n[[movable.site]]\ncampus = "tx-100mw"\ngpus = 10\n',
            "another fleet_name",
        ),
        (
            '[[movable]]\nname = "training"\nhome = "tx-100mw"\nmigration_mw_per_h = 1.0\n'
            '[[movable.site]]\ncampus = "nowhere"\ngpus = 10\n',
            "must be one of",
        ),
        (
            '[[movable]]\nname = "training"\nhome = "tx-100mw"\nmigration_mw_per_h = -1.0\n'
            '[[movable.site]]\ncampus = "pjm-western-100mw"\ngpus = 10\n',
            "migration_mw_per_h: must be >= 0",
        ),
        (
            '[[movable]]\nname = "training"\nhome = "tx-100mw"\nmigration_mw_per_h = 1.0\n'
            '[[movable.site]]\ncampus = "pjm-western-100mw"\ngpus = 0\n',
            "gpus: must be > 0",
        ),
    ],
)
def test_bad_movable_classes_are_refused(tmp_path: Path, text: str, message: str):
    with pytest.raises(ConfigError, match=message):
        load_fleet(_write(tmp_path, text))


def test_one_campus_is_not_a_fleet(tmp_path: Path):
    path = tmp_path / "fleet.toml"
    first, second, _ = HEAD.split("[[campus]]")
    path.write_text(first + "[[campus]]" + second, encoding="utf-8")
    with pytest.raises(ConfigError, match="at least two"):
        load_fleet(path)


def test_an_inference_class_served_from_another_iso(tmp_path: Path):
    # PJM's inference (22,000 GPUs, idle fraction 0.12, utilisation by Eastern hour ending)
    # may be served from Houston, 35 ms away within a 40 ms budget, on 2,000 GPUs there. Houston
    # has an "inference" class of its own, so the movable one is named "east" in the fleet.
    fleet = load_fleet(
        _write(
            tmp_path,
            '[[movable]]\nname = "inference"\nfleet_name = "east"\nhome = "pjm-western-100mw"\n'
            'region = "us-east"\nmigration_mw_per_h = 2.0\nlatency_budget_ms = 40\n'
            '[[movable.site]]\ncampus = "tx-100mw"\ngpus = 2000\nlatency_ms = 35\n',
        )
    )
    (served,) = fleet.movable
    assert served.must_serve and served.gpus == 22000.0 and served.region == "us-east"
    assert (served.name, served.home_name) == ("east", "inference")
    assert served.latency_ms == {"pjm-western-100mw": 0.0, "tx-100mw": 35.0}
    assert fleet.site_campus("pjm-western-100mw").inference == ()  # left home for the fleet
    tx = fleet.site_campus("tx-100mw")
    stamps = np.datetime64("2025-07-01T04:00", "us") + np.arange(24) * np.timedelta64(1, "h")
    (flex,) = fleet.served_flex(tx, stamps, np.ones(24))
    assert not flex.rt_curtailable
    # Midnight EDT is hour ending 1, utilisation 0.7: 2,000 GPUs x 1 kW x (0.12 + 0.88 x 0.7)
    # x PUE 1.25 = 1.84 MW.
    assert flex.max_mw[0] == pytest.approx(1.84)
    # Utilisations add to 6 x 0.7 + 4 x 0.8 + 14 x 0.95 = 20.7 over the day: 41,400 GPU-h on
    # 2.5 x (24 x 0.12 + 0.88 x 20.7) = 52.74 MWh.
    assert flex.gpu_hours_per_mwh == pytest.approx(41400 / 52.74)
