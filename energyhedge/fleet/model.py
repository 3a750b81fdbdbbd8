"""Reading a fleet file (``models/fleet/*.toml``) into a ``Fleet``.

Fleet file layout::

    [fleet]            name
    [[campus]]         file (a campus file), contracts (its ISO's catalogue), node (optional:
                       settle the campus at another node of its ISO in the fleet run)
    [[movable]]        name (a training tier of the home campus), home, migration_mw_per_h,
                       migration_usd_per_mw
    [[movable.site]]   campus, gpus (GPUs of capacity the class may use there)
    [compute]          the GPU-hours the fleet sells (``energyhedge.fleet.compute``)

A movable class is a training tier that may run at its home campus and at the listed sites.
Where it runs is decided hour by hour: its work (GPUs) is placed at the sites, moves between
them at most ``migration_mw_per_h`` MW of IT load per hour, and each MW moved costs
``migration_usd_per_mw``. At every site it keeps its value per GPU-hour and its notice, on a
linear power-to-work curve (a placed job runs or pauses whole), and draws no power while
paused (its GPUs are released to the site).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from energyhedge.campus import Campus, load_campus
from energyhedge.campus.model import GpuType, TrainingTier
from energyhedge.config import Table, load_toml
from energyhedge.instruments import Catalogue, load_catalogue

LINEAR_CURVE = (np.array([0.0, 1.0]), np.array([0.0, 1.0]))
"""Power-to-work curve of a movable class at every site (fractions of MW and of work)."""


@dataclass(frozen=True)
class FleetCampus:
    """One campus of the fleet with the catalogue its hedges come from."""

    campus: Campus
    catalogue: Catalogue


@dataclass(frozen=True)
class MovableClass:
    """A training tier that may run at several campuses.

    Attributes
    ----------
    name : str
        The tier's name at its home campus (and of its copies at the other sites).
    home : str
        Campus where the work is at the start of the horizon.
    gpus : float
        GPUs of work the class has (the tier's GPUs at home).
    capacity_gpus : dict[str, float]
        GPUs of capacity the class may use at each site, home included.
    it_kw_per_gpu : float
        IT power of one GPU at full speed (kW); converts GPUs moved to MW.
    migration_mw_per_h : float
        Most IT MW of the class's work moved between sites per hour (0 forbids moving).
    migration_usd_per_mw : float
        Cost of moving one MW of IT load from one site to another ($/MW).
    tier : TrainingTier
        The home tier (value, notice, ramp), copied to every site.
    """

    name: str
    home: str
    gpus: float
    capacity_gpus: dict[str, float]
    it_kw_per_gpu: float
    migration_mw_per_h: float
    migration_usd_per_mw: float
    tier: TrainingTier

    @property
    def sites(self) -> tuple[str, ...]:
        """Campus names where the class may run, home first."""
        return (self.home, *(s for s in self.capacity_gpus if s != self.home))

    @property
    def migration_gpus_per_h(self) -> float:
        """Most GPUs of work moved per hour."""
        return self.migration_mw_per_h * 1000.0 / self.it_kw_per_gpu

    @property
    def migration_usd_per_gpu(self) -> float:
        """Cost of moving one GPU of work ($)."""
        return self.migration_usd_per_mw * self.it_kw_per_gpu / 1000.0

    def site_tier(self, site: str) -> TrainingTier:
        """The tier as it runs at ``site``: its capacity there, a linear curve, no idle draw."""
        gpu = GpuType(f"{self.tier.gpu.name}-{self.name}", self.it_kw_per_gpu, 0.0)
        return dataclasses.replace(
            self.tier,
            gpu=gpu,
            gpus=self.capacity_gpus[site],
            curve_power_frac=LINEAR_CURVE[0],
            curve_work_frac=LINEAR_CURVE[1],
            curve_source="linear (movable)",
            restart_cost_usd=0.0,
            checkpoint_interval_h=0.0,
            restart_time_h=0.0,
            work_requirement_gpu_hours=None,
            unserved_usd_per_gpu_hour=0.0,
            deadline=None,
        )

    def fixed(self) -> MovableClass:
        """The same class with moving forbidden (it runs at home only)."""
        return dataclasses.replace(self, migration_mw_per_h=0.0)


@dataclass(frozen=True)
class Fleet:
    """Campuses and the work that may move between them."""

    name: str
    path: Path
    campuses: tuple[FleetCampus, ...]
    movable: tuple[MovableClass, ...]
    compute: Table

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.campus.name for c in self.campuses)

    def site_campus(self, name: str) -> Campus:
        """Campus ``name`` as it runs in the fleet: each movable class it may host as a
        training tier at its capacity there (the home tier replaced by its movable copy)."""
        campus = self.campuses[self.names.index(name)].campus
        hosted = tuple(m.site_tier(name) for m in self.movable if name in m.capacity_gpus)
        moved = {m.name for m in self.movable if m.home == name}
        local = tuple(t for t in campus.training if t.name not in moved)
        return dataclasses.replace(campus, training=local + hosted)

    def without_moves(self) -> Fleet:
        """The same fleet with migration forbidden for every movable class."""
        return dataclasses.replace(self, movable=tuple(m.fixed() for m in self.movable))


def load_fleet(path: str | Path) -> Fleet:
    """Read and validate a fleet file; ConfigError naming file, key and reason."""
    root = load_toml(path)
    root.reject_unknown({"fleet", "campus", "movable", "compute"})
    head = root.table("fleet")
    head.reject_unknown({"name", "description"})
    base = Path(path).parent
    campuses = tuple(_campus(t, base) for t in root.tables("campus"))
    if len(campuses) < 2:
        raise root.error("campus", "a fleet needs at least two [[campus]] entries")
    names = [c.campus.name for c in campuses]
    if len(set(names)) != len(names):
        raise root.error("campus", f"campus names repeat ({', '.join(names)}); each must differ")
    by_name = {c.campus.name: c.campus for c in campuses}
    movable = tuple(_movable(t, by_name) for t in root.tables("movable"))
    return Fleet(
        name=head.name("name", Path(path).stem),
        path=Path(path),
        campuses=campuses,
        movable=movable,
        compute=root.table("compute", None),
    )


def _campus(table: Table, base: Path) -> FleetCampus:
    table.reject_unknown({"file", "contracts", "node"})
    campus = load_campus(base / table.get("file", str))
    catalogue = load_catalogue(base / table.get("contracts", str))
    if table.has("node"):
        campus = dataclasses.replace(campus, node=table.name("node"))
    return FleetCampus(campus, catalogue)


def _movable(table: Table, campuses: dict[str, Campus]) -> MovableClass:
    table.reject_unknown({"name", "home", "migration_mw_per_h", "migration_usd_per_mw", "site"})
    home = table.choice("home", tuple(campuses))
    name = table.name("name")
    tiers = {t.name: t for t in campuses[home].training}
    if name not in tiers:
        raise table.error(
            "name",
            f"campus {home!r} has no training tier {name!r} (it has "
            f"{', '.join(tiers) or 'none'}); name the home tier that may move",
        )
    tier = tiers[name]
    capacity = {home: tier.gpus}
    for site in table.tables("site"):
        site.reject_unknown({"campus", "gpus"})
        where = site.choice("campus", tuple(campuses))
        if where in capacity:
            raise site.error("campus", f"{where!r} is listed twice (home included)")
        hosts = {c.name for c in campuses[where].training} | {
            c.name for c in campuses[where].inference
        }
        if name in hosts:
            raise site.error(
                "campus", f"{where!r} already has a job class named {name!r}; rename one"
            )
        gpus = site.number("gpus", min_value=0.0)
        if gpus <= 0:
            raise site.error("gpus", f"must be > 0, got {gpus:g}; leave out a site with none")
        capacity[where] = gpus
    if len(capacity) < 2:
        raise table.error("site", f"movable class {name!r} lists no [[movable.site]] to move to")
    return MovableClass(
        name=name,
        home=home,
        gpus=tier.gpus,
        capacity_gpus=capacity,
        it_kw_per_gpu=tier.gpu.it_kw_per_gpu,
        migration_mw_per_h=table.number("migration_mw_per_h", min_value=0.0),
        migration_usd_per_mw=table.number("migration_usd_per_mw", 0.0, min_value=0.0),
        tier=tier,
    )
