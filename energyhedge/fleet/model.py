"""Reading a fleet file (``models/fleet/*.toml``) into a ``Fleet``.

Fleet file layout::

    [fleet]            name
    [[campus]]         file (a campus file), contracts (its ISO's catalogue), node (optional:
                       settle the campus at another node of its ISO in the fleet run)
    [[movable]]        name (a training tier or an inference class of the home campus),
                       fleet_name (its name at every site, if another site has a class of
                       that name), home, migration_mw_per_h, migration_usd_per_mw; for
                       inference: region, latency_budget_ms
    [[movable.site]]   campus, gpus (GPUs of capacity the class may use there), latency_ms
                       (from the inference class's region; over the budget is refused)
    [compute]          the GPU-hours the fleet sells (``energyhedge.fleet.compute``)

A movable class may run at its home campus and at the listed sites. Where it runs is decided
hour by hour: its work (GPUs) is placed at the sites, moves between them at most
``migration_mw_per_h`` MW of IT load per hour, and each MW moved costs ``migration_usd_per_mw``.
At every site it keeps its value per GPU-hour, on a linear power-to-work curve (a placed job
runs or pauses whole), and draws no power while paused (its GPUs are released to the site).
A training class keeps its notice: curtailable in real time, it may also move in real time. An
inference class must be served in full in every hour, from the sites within its region's
latency budget, as its day-ahead schedule places it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from energyhedge.campus import Campus, load_campus
from energyhedge.campus.model import GpuType, InferenceClass, TrainingTier
from energyhedge.config import Table, load_toml
from energyhedge.data.calendar import local_fields
from energyhedge.instruments import Catalogue, load_catalogue
from energyhedge.model.problem import FlexClass

LINEAR_CURVE = (np.array([0.0, 1.0]), np.array([0.0, 1.0]))
"""Power-to-work curve of a movable class at every site (fractions of MW and of work)."""


@dataclass(frozen=True)
class FleetCampus:
    """One campus of the fleet with the catalogue its hedges come from."""

    campus: Campus
    catalogue: Catalogue


@dataclass(frozen=True)
class MovableClass:
    """A training tier, or an inference class, that may run at several campuses.

    Attributes
    ----------
    name : str
        The class's name in the fleet, at every site (the file's ``fleet_name``, else the
        home class's name).
    home_name : str
        The class's name at its home campus.
    home, home_iso : str
        Campus where the work is at the start of the horizon, and its ISO.
    gpus : float
        GPUs of work the class has (its GPUs at home).
    capacity_gpus : dict[str, float]
        GPUs of capacity the class may use at each site, home included.
    it_kw_per_gpu : float
        IT power of one GPU at full speed (kW); converts GPUs moved to MW.
    migration_mw_per_h : float
        Most IT MW of the class's work moved between sites per hour (0 forbids moving).
    migration_usd_per_mw : float
        Cost of moving one MW of IT load from one site to another ($/MW).
    value_usd_per_gpu_hour : float
    tier : TrainingTier or None
        A training class's home tier (notice, ramp), copied to every site.
    inference : InferenceClass or None
        An inference class's home class: it must be served in full in every hour, from the
        sites within its latency budget, on the day-ahead schedule (it does not move in real
        time).
    region : str or None
        Where an inference class's users are (a label).
    latency_ms : dict[str, float]
        Round-trip latency from each site to the region (ms; home 0 unless given).
    """

    name: str
    home_name: str
    home: str
    home_iso: str
    gpus: float
    capacity_gpus: dict[str, float]
    it_kw_per_gpu: float
    migration_mw_per_h: float
    migration_usd_per_mw: float
    value_usd_per_gpu_hour: float
    tier: TrainingTier | None = None
    inference: InferenceClass | None = None
    region: str | None = None
    latency_ms: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def must_serve(self) -> bool:
        """True for an inference class: every hour's demand is served somewhere."""
        return self.inference is not None

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
        """A training class as it runs at ``site``: its capacity there, a linear curve, no
        idle draw."""
        gpu = GpuType(f"{self.tier.gpu.name}-{self.name}", self.it_kw_per_gpu, 0.0)
        return dataclasses.replace(
            self.tier,
            name=self.name,
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

    def site_flex(self, campus: Campus, stamps: np.ndarray, hours: np.ndarray) -> FlexClass:
        """An inference class as it runs at ``campus``: facility MW of its capacity there at
        the region's utilisation by (home ISO) hour ending and the site's PUE, drawn on the
        day-ahead schedule; GPU-hours per MWh averaged over the horizon."""
        c = self.inference
        pue = campus.pue.at(stamps, campus.iso)
        util = c.utilisation_by_hour[local_fields(stamps, self.home_iso)["hour_ending"] - 1]
        share = c.gpu.idle_fraction + (1.0 - c.gpu.idle_fraction) * util
        cap = self.capacity_gpus[campus.name]
        max_mw = cap * self.it_kw_per_gpu / 1000.0 * share * pue
        return FlexClass(
            name=self.name,
            max_mw=max_mw,
            gpu_hours_per_mwh=float(cap * util @ hours) / float(max_mw @ hours),
            value_usd_per_gpu_hour=self.value_usd_per_gpu_hour,
            curve_power_frac=LINEAR_CURVE[0],
            curve_work_frac=LINEAR_CURVE[1],
            rt_curtailable=False,
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
        """Campus ``name`` as it runs in the fleet: each movable training class it may host as
        a training tier at its capacity there (the home tier replaced by its movable copy), and
        without the movable inference classes it is home to (``served_flex`` adds those)."""
        campus = self.campuses[self.names.index(name)].campus
        hosted = tuple(
            m.site_tier(name) for m in self.movable if name in m.capacity_gpus and m.tier
        )
        moved = {m.home_name for m in self.movable if m.home == name}
        local = tuple(t for t in campus.training if t.name not in moved)
        served = tuple(c for c in campus.inference if c.name not in moved)
        return dataclasses.replace(campus, training=local + hosted, inference=served)

    def served_flex(
        self, campus: Campus, stamps: np.ndarray, hours: np.ndarray
    ) -> tuple[FlexClass, ...]:
        """The inference classes ``campus`` (a site campus) may serve, as job classes."""
        return tuple(
            m.site_flex(campus, stamps, hours)
            for m in self.movable
            if m.must_serve and campus.name in m.capacity_gpus
        )

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
    table.reject_unknown(
        {
            "name",
            "fleet_name",
            "home",
            "migration_mw_per_h",
            "migration_usd_per_mw",
            "region",
            "latency_budget_ms",
            "site",
        }
    )
    home = table.choice("home", tuple(campuses))
    name = table.name("name")
    tiers = {t.name: t for t in campuses[home].training}
    served = {c.name: c for c in campuses[home].inference}
    if name not in tiers and name not in served:
        raise table.error(
            "name",
            f"campus {home!r} has no training tier or inference class {name!r} (it has "
            f"{', '.join([*tiers, *served]) or 'none'}); name the home class that may move",
        )
    tier, inference = tiers.get(name), served.get(name)
    label = table.name("fleet_name", name)
    if label != name and label in {*tiers, *served}:
        raise table.error("fleet_name", f"campus {home!r} already has a job class {label!r}")
    if inference is not None and inference.gpus is None:
        raise table.error(
            "name", f"inference class {name!r} is given in MW; give it as gpus to move it"
        )
    gpu = tier.gpu if tier is not None else inference.gpu
    budget = table.number("latency_budget_ms", None, min_value=0.0)
    capacity = {home: tier.gpus if tier is not None else inference.gpus}
    latency = {home: 0.0}
    for site in table.tables("site"):
        site.reject_unknown({"campus", "gpus", "latency_ms"})
        where = site.choice("campus", tuple(campuses))
        if where in capacity:
            raise site.error("campus", f"{where!r} is listed twice (home included)")
        hosts = {c.name for c in campuses[where].training} | {
            c.name for c in campuses[where].inference
        }
        if label in hosts:
            raise site.error(
                "campus",
                f"{where!r} already has a job class named {label!r}; give the movable class "
                "another fleet_name",
            )
        gpus = site.number("gpus", min_value=0.0)
        if gpus <= 0:
            raise site.error("gpus", f"must be > 0, got {gpus:g}; leave out a site with none")
        latency[where] = site.number("latency_ms", 0.0, min_value=0.0)
        if budget is not None and latency[where] > budget:
            raise site.error(
                "latency_ms",
                f"{latency[where]:g} ms from the region is over the class's "
                f"{budget:g} ms budget; leave the site out or raise latency_budget_ms",
            )
        capacity[where] = gpus
    if len(capacity) < 2:
        raise table.error("site", f"movable class {name!r} lists no [[movable.site]] to move to")
    return MovableClass(
        name=label,
        home_name=name,
        home=home,
        home_iso=campuses[home].iso,
        gpus=capacity[home],
        capacity_gpus=capacity,
        it_kw_per_gpu=gpu.it_kw_per_gpu,
        migration_mw_per_h=table.number("migration_mw_per_h", min_value=0.0),
        migration_usd_per_mw=table.number("migration_usd_per_mw", 0.0, min_value=0.0),
        value_usd_per_gpu_hour=(tier or inference).value_usd_per_gpu_hour,
        tier=tier,
        inference=inference,
        region=table.get("region", str, None),
        latency_ms=latency,
    )
