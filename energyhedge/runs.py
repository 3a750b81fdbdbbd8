"""Run profiles (``models/runs/*.toml``): everything one optimisation run needs, in one file.

Layout of a profile (paths are relative to the profile's folder)::

    [run]
    campus = "../campus/tx-100mw.toml"          # iso, node and market come from the campus
    contracts = "../contracts/ercot-standard.toml"
    allow_unusual_values = false                 # true: accept $/MWh terms outside the ISO's
                                                 #   plausible band (energyhedge.units)
    max_history_age_days = 7                     # older history is stale (energyhedge.freshness)
    allow_stale_data = false                     # true: stale history is a warning, not exit 3
    forward_marks = "store"                      # optional: trade at forward marks
                                                 #   (energyhedge.forwards): "store" (imported
                                                 #   with `energyhedge forwards import`), a
                                                 #   store folder or a marks CSV; without it,
                                                 #   every product is model-priced (indicative)
    settlement = "real_time"                     # or "two_settlement": buy day-ahead (DAM at
                                                 #   the campus node), deviations in real time

    [scenarios]
    model = "bootstrap"                          # or "regime"
    n = 300
    seed = 7
    start = 2023-08-17                           # first local day of the horizon (optional:
    days = 1                                     #   nightly runs use the day after as-of)
    month_window = 1                             # optional, bootstrap months either side
    offer_cap_usd_per_mwh = 5000.0               # optional (PJM needs one)
    market_consistent = false                    # true: scale scenarios so their mean matches
                                                 #   the forward mids (needs forward_marks)
    [[scenarios.replay]]                         # historical stress replays, any number
    name = "aug2023"; first_day = 2023-08-14; last_day = 2023-08-18; probability = 0.02
    hours = [16, 22]                             # optional local hours [from, to)
    [[scenarios.cap_event]]                      # hours at the offer cap, any number
    name = "cap4h"; start_hour = 17; hours = 4; probability = 0.01

    [risk]
    alpha = 0.95
    lambda = 1.0                                 # or cvar_budget_usd = 2.5e6 (not both)
    frontier_lambdas = [0.0, 0.5, 1.0, 2.0, 5.0]
    [risk.hedge_ratio]                           # optional: net block MW per shape between
    "5x16" = [-0.1, 1.0]                         #   these fractions of the expected load in
    "7x8" = [0.0, 1.0]                           #   its hours (energyhedge.optimize.hedge_ratio)

    [solver]
    time_limit_s = 60                            # each HiGHS call
    mip_rel_gap = 1e-4                           # committed job classes only (a MIP)
    marginals = true
    [solver.highs]                               # HiGHS options, verbatim, over the
    solver = "simplex"                           #   defaults of energyhedge.optimize.options
    presolve = "off"

    [out_of_sample]
    seed = 8
    n = 300

    [term]                                       # optional: a term run (energyhedge.model.term):
    months = 12                                  #   whole calendar months from [scenarios] start
                                                 #   (a 1st; replaces days), hedged by products
                                                 #   per month, DR committed per month
    engine = "auto"                              # or "ef" | "decomposed" | "mpisppy"
    workers = 2                                  # local processes for scenario bundles
    relative_gap = 1e-6                          # stop the decomposition at this bound gap
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from energyhedge.config import Table, load_toml, shown_path
from energyhedge.errors import ConfigError
from energyhedge.forwards import load_marks
from energyhedge.freshness import DEFAULT_MAX_HISTORY_AGE_DAYS, FreshnessRule
from energyhedge.instruments import Catalogue, load_catalogue
from energyhedge.optimize.options import (
    DEFAULT_HIGHS_OPTIONS,
    HedgeRatioLimit,
    SolveOptions,
)
from energyhedge.scenarios import MODELS, CapEvent, HistoricalReplay
from energyhedge.units import ALLOW_KEY, OFFER_CAP, checked, price_problem

DEFAULT_FRONTIER_LAMBDAS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
MAX_SCENARIOS = 1_000_000
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class ScenarioSettings:
    """How to generate the in-sample and out-of-sample price scenarios.

    Attributes
    ----------
    model : str
        ``"bootstrap"`` or ``"regime"``.
    n, seed : int
        In-sample scenario count and seed.
    start : date or None
        First local market day of the horizon; None means the day after the run's as-of date.
    days : int
        Local days in the horizon.
    stress : tuple
        ``HistoricalReplay`` and ``CapEvent`` scenarios appended with their probabilities.
    out_of_sample_seed, out_of_sample_n : int
        Seed and count of the fresh scenarios the decision is judged on.
    month_window : int
        Bootstrap: calendar months either side of the horizon to draw days from.
    offer_cap_usd_per_mwh : float or None
        Offer cap used by the scenario model (None: the ISO default where one is known).
    market_consistent : bool
        Scale the scenarios so their mean matches the forward mids (``forwards.market_consistent``).
    """

    model: str
    n: int
    seed: int
    start: date | None
    days: int
    stress: tuple
    out_of_sample_seed: int
    out_of_sample_n: int
    month_window: int = 0
    offer_cap_usd_per_mwh: float | None = None
    market_consistent: bool = False


TERM_ENGINES = ("auto", "ef", "decomposed", "mpisppy")
MAX_TERM_MONTHS = 36


@dataclass(frozen=True)
class TermSettings:
    """``[term]``: a horizon of whole months decided months ahead (``energyhedge.term_run``).

    Attributes
    ----------
    months : int
        Calendar months in the horizon, from the scenarios' start (the first of a month).
    engine : str
        ``"auto"``, ``"ef"``, ``"decomposed"`` or ``"mpisppy"`` (``energyhedge.optimize.term``).
    workers : int
        Local processes solving scenario bundles (decomposed engine and valuation).
    relative_gap : float
        The decomposition stops when (upper - lower bound) / |upper| is at most this.
    """

    months: int
    engine: str = "auto"
    workers: int = 1
    relative_gap: float = 1e-6


@dataclass(frozen=True)
class RunProfile:
    """A parsed run profile; see the module docstring for the file layout."""

    path: Path
    campus_path: Path
    contracts_path: Path
    scenarios: ScenarioSettings
    solve_options: SolveOptions
    frontier_lambdas: tuple[float, ...]
    quotes_usd_per_mwh: tuple[tuple[str, float], ...] = ()
    """Broker quotes given on the command line: (product, $/MWh), see ``Catalogue.with_quotes``."""
    allow_unusual_values: bool = False
    """``[run] allow_unusual_values``: accept $/MWh terms outside ``energyhedge.units`` bands."""
    freshness: FreshnessRule = field(default_factory=FreshnessRule)
    """``[run] max_history_age_days`` and ``allow_stale_data`` (``energyhedge.freshness``)."""
    forward_marks: str | None = None
    """``[run] forward_marks``: ``"store"``, or the absolute path of a marks store folder or CSV;
    None: no marks (every product model-priced)."""

    def marks(self, as_of: date | None):
        """The forward marks a run on ``as_of`` uses (``energyhedge.forwards.load_marks``), or
        None when the profile names none."""
        if self.forward_marks is None:
            return None
        return load_marks(self.forward_marks, as_of)

    settlement: str = "real_time"
    """``[run] settlement``: ``"real_time"`` (all energy at the real-time price) or
    ``"two_settlement"`` (a first-stage day-ahead purchase per interval, deviations in real time,
    see ``assemble.day_ahead_products``)."""

    book: str | None = None
    """``[run] book``: absolute path of the hedge book CSV (``energyhedge.book``); None: no
    positions held."""

    term: TermSettings | None = None
    """``[term]``: a term run over whole months; None: a day-ahead run."""

    @property
    def day_ahead(self) -> bool:
        """True when the campus buys its energy in two settlements."""
        return self.settlement == "two_settlement"

    def contracts(self) -> Catalogue:
        """The contract catalogue with the profile's broker quotes applied."""
        allow = self.allow_unusual_values
        return load_catalogue(self.contracts_path, allow_unusual_values=allow).with_quotes(
            dict(self.quotes_usd_per_mwh), allow_unusual_values=allow
        )

    def with_overrides(
        self,
        *,
        cvar_weight: float | None = None,
        alpha: float | None = None,
        cvar_budget_usd: float | None = None,
        n: int | None = None,
        seed: int | None = None,
        quotes_usd_per_mwh: tuple[tuple[str, float], ...] = (),
    ) -> RunProfile:
        """The profile with command-line overrides applied (None keeps the profile's value).

        A lambda override switches to the penalty form; a budget override to the budget form.
        """
        options = self.solve_options
        if alpha is not None:
            options = dataclasses.replace(options, alpha=alpha)
        if cvar_weight is not None:
            options = dataclasses.replace(options, cvar_weight=cvar_weight, cvar_budget_usd=None)
        if cvar_budget_usd is not None:
            options = dataclasses.replace(options, cvar_budget_usd=cvar_budget_usd)
        scenarios = self.scenarios
        if n is not None:
            scenarios = dataclasses.replace(scenarios, n=n)
        if seed is not None:
            scenarios = dataclasses.replace(scenarios, seed=seed)
        return dataclasses.replace(
            self,
            scenarios=scenarios,
            solve_options=options,
            quotes_usd_per_mwh=self.quotes_usd_per_mwh + tuple(quotes_usd_per_mwh),
        )

    def with_term(self, *, engine: str | None = None, workers: int | None = None) -> RunProfile:
        """A term profile with the command line's engine and worker count (None keeps)."""
        if self.term is None:
            raise ConfigError(f"{self.path}: not a term run profile (no [term] table)")
        term = self.term
        if engine is not None:
            term = dataclasses.replace(term, engine=engine)
        if workers is not None:
            if not 1 <= workers <= 256:
                raise ConfigError(f"--workers must be 1..256, got {workers}")
            term = dataclasses.replace(term, workers=workers)
        return dataclasses.replace(self, term=term)

    def resolved(self) -> dict:
        """The profile as plain JSON-ready values (for recommendation.json)."""
        s, o = self.scenarios, self.solve_options
        return {
            "profile": shown_path(self.path),
            "campus": shown_path(self.campus_path),
            "contracts": shown_path(self.contracts_path),
            "scenarios": {
                "model": s.model,
                "n": s.n,
                "seed": s.seed,
                "start": s.start.isoformat() if s.start else None,
                "days": s.days,
                "month_window": s.month_window,
                "offer_cap_usd_per_mwh": s.offer_cap_usd_per_mwh,
                "market_consistent": s.market_consistent,
                "stress": [_event_dict(e) for e in s.stress],
                "out_of_sample_seed": s.out_of_sample_seed,
                "out_of_sample_n": s.out_of_sample_n,
            },
            "risk": {
                "alpha": o.alpha,
                "lambda": None if o.budget_form else o.cvar_weight,
                "cvar_budget_usd": o.cvar_budget_usd,
                "frontier_lambdas": list(self.frontier_lambdas),
                "hedge_ratio": {r.shape: [r.lower, r.upper] for r in o.hedge_ratio},
            },
            "forward_marks": None
            if self.forward_marks is None
            else self.forward_marks
            if self.forward_marks == "store"
            else shown_path(self.forward_marks),
            "quotes_usd_per_mwh": dict(self.quotes_usd_per_mwh),
            "settlement": self.settlement,
            "book": None if self.book is None else shown_path(self.book),
            "term": None if self.term is None else dataclasses.asdict(self.term),
            "solver": {
                "time_limit_s": o.time_limit_s,
                "mip_rel_gap": o.mip_rel_gap,
                "marginals": o.marginals,
                "highs": dict(o.highs_options),
            },
        }


SETTLEMENTS = ("real_time", "two_settlement")
"""How a campus buys its energy (``[run] settlement``)."""


def load_run_profile(path: str | Path) -> RunProfile:
    """Read a run profile; ConfigError naming file, key and reason on bad input."""
    root = load_toml(path)
    root.reject_unknown({"run", "scenarios", "risk", "solver", "out_of_sample", "term"})
    folder = Path(path).resolve().parent
    run = root.table("run")
    run.reject_unknown(
        {
            "campus",
            "contracts",
            ALLOW_KEY,
            "max_history_age_days",
            "allow_stale_data",
            "settlement",
            "forward_marks",
            "book",
        }
    )
    allow = run.get(ALLOW_KEY, bool, False)
    scenarios = _scenarios(root.table("scenarios"), root.table("out_of_sample", {}), allow)
    risk = root.table("risk")
    risk.reject_unknown({"alpha", "lambda", "cvar_budget_usd", "frontier_lambdas", "hedge_ratio"})
    if risk.has("lambda") and risk.has("cvar_budget_usd"):
        raise risk.error("cvar_budget_usd", "give either lambda or cvar_budget_usd, not both")
    solver = root.table("solver", {})
    solver.reject_unknown({"time_limit_s", "mip_rel_gap", "marginals", "highs"})
    highs = {**DEFAULT_HIGHS_OPTIONS, **_highs(solver.table("highs", {}))}
    options = SolveOptions(
        alpha=risk.number("alpha", 0.95, min_value=0.5, max_value=0.9999),
        cvar_weight=risk.number("lambda", 1.0, min_value=0.0, max_value=1e6),
        cvar_budget_usd=risk.number("cvar_budget_usd", None, min_value=0.0),
        time_limit_s=solver.number("time_limit_s", 60.0, min_value=0.1, max_value=86400.0),
        mip_rel_gap=solver.number(
            "mip_rel_gap", SolveOptions.mip_rel_gap, min_value=0.0, max_value=0.5
        ),
        highs_options=highs,
        marginals=solver.get("marginals", bool, True),
        hedge_ratio=_hedge_ratio(risk.table("hedge_ratio", {})),
    )
    lambdas = risk.get("frontier_lambdas", list, list(DEFAULT_FRONTIER_LAMBDAS))
    if not lambdas or not all(_finite(v) and 0 <= v <= 1e6 for v in lambdas):
        raise risk.error("frontier_lambdas", "expected a non-empty list of numbers 0..1e6")
    profile = RunProfile(
        path=Path(path),
        campus_path=Path(os.path.normpath(folder / run.get("campus", str))),
        contracts_path=Path(os.path.normpath(folder / run.get("contracts", str))),
        scenarios=scenarios,
        solve_options=options,
        frontier_lambdas=tuple(sorted(float(v) for v in lambdas)),
        allow_unusual_values=allow,
        freshness=FreshnessRule(
            max_history_age_days=run.number(
                "max_history_age_days", DEFAULT_MAX_HISTORY_AGE_DAYS, min_value=0.0
            ),
            allow_stale_data=run.get("allow_stale_data", bool, False),
        ),
        settlement=run.choice("settlement", SETTLEMENTS, "real_time"),
        forward_marks=_forward_marks(run, folder),
        book=_book(run, folder),
    )
    if root.has("term"):
        profile = _with_term(profile, root.table("term"), root.table("scenarios"))
    if profile.scenarios.market_consistent and profile.forward_marks is None:
        raise root.table("scenarios").error(
            "market_consistent", "needs forward marks: set [run] forward_marks"
        )
    return profile


def _with_term(profile: RunProfile, table: Table, scenarios: Table) -> RunProfile:
    """The profile as a term run: ``[term]`` read, the horizon's days set from its months."""
    table.reject_unknown({"months", "engine", "workers", "relative_gap"})
    start = profile.scenarios.start
    if start is None or start.day != 1:
        raise scenarios.error(
            "start", f"a term run starts on the first of a month, got {start or 'none'}"
        )
    if scenarios.has("days"):
        raise scenarios.error("days", "a term run sets its horizon with [term] months, not days")
    settings = TermSettings(
        months=table.integer("months", min_value=1, max_value=MAX_TERM_MONTHS),
        engine=table.choice("engine", TERM_ENGINES, "auto"),
        workers=table.integer("workers", 1, min_value=1, max_value=256),
        relative_gap=table.number("relative_gap", 1e-6, min_value=0.0, max_value=0.1),
    )
    month = start.month - 1 + settings.months
    end = date(start.year + month // 12, month % 12 + 1, 1)
    days = (end - start).days
    return dataclasses.replace(
        profile, term=settings, scenarios=dataclasses.replace(profile.scenarios, days=days)
    )


def _forward_marks(run: Table, folder: Path) -> str | None:
    """``"store"``, the absolute path of the marks source, or None."""
    value = run.get("forward_marks", str, None)
    if value is None or value == "store":
        return value
    return os.path.normpath(folder / value)


def _book(run: Table, folder: Path) -> str | None:
    """The absolute path of the book file, or None."""
    value = run.get("book", str, None)
    return None if value is None else os.path.normpath(folder / value)


def _hedge_ratio(table: Table) -> tuple[HedgeRatioLimit, ...]:
    """``shape = [lower, upper]`` fractions of expected load, one per shape."""
    limits = []
    for shape in table.data:
        value = table.get(shape, list)
        if not (len(value) == 2 and all(_finite(v) for v in value)):
            raise table.error(shape, "expected [lower, upper] fractions of load: [-0.1, 1.0]")
        try:
            limits.append(HedgeRatioLimit(shape, float(value[0]), float(value[1])))
        except ConfigError as exc:
            raise table.error(shape, str(exc)) from None
    return tuple(limits)


def _finite(value: object) -> bool:
    """A TOML number (not a boolean) that is finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _highs(table: Table) -> dict:
    """HiGHS options, verbatim, each a string, boolean or finite number."""
    for key, value in table.data.items():
        if not (isinstance(value, str | bool) or _finite(value)):
            raise table.error(key, "expected a string, true/false or a finite number")
        table.get(key, (str, bool, int, float))
    return dict(table.data)


def _scenarios(table: Table, oos: Table, allow: bool) -> ScenarioSettings:
    table.reject_unknown(
        {
            "model",
            "n",
            "seed",
            "start",
            "days",
            "month_window",
            "offer_cap_usd_per_mwh",
            "market_consistent",
            "replay",
            "cap_event",
        }
    )
    oos.reject_unknown({"seed", "n"})
    n = table.integer("n", min_value=2, max_value=MAX_SCENARIOS)
    seed = table.integer("seed", min_value=0, max_value=MAX_SEED)
    start = table.get("start", date, None)
    stress = tuple(_replay(t) for t in table.tables("replay"))
    stress += tuple(_cap_event(t, allow) for t in table.tables("cap_event"))
    offer_cap = table.number("offer_cap_usd_per_mwh", None, min_value=0.0)
    if offer_cap is not None:
        problem = price_problem(offer_cap, OFFER_CAP)
        checked(table, "offer_cap_usd_per_mwh", problem, allow=allow)
    return ScenarioSettings(
        model=table.choice("model", MODELS, "bootstrap"),
        n=n,
        seed=seed,
        start=start,
        days=table.integer("days", 1, min_value=1, max_value=31),
        stress=stress,
        out_of_sample_seed=oos.integer("seed", seed + 1, min_value=0, max_value=MAX_SEED),
        out_of_sample_n=oos.integer("n", n, min_value=2, max_value=MAX_SCENARIOS),
        month_window=table.integer("month_window", 0, min_value=0, max_value=6),
        offer_cap_usd_per_mwh=offer_cap,
        market_consistent=table.get("market_consistent", bool, False),
    )


def _replay(t: Table) -> HistoricalReplay:
    t.reject_unknown({"name", "first_day", "last_day", "probability", "hours", "onto"})
    hours = t.get("hours", list, None)
    if hours is not None and not (
        len(hours) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in hours)
        and 0 <= hours[0] < hours[1] <= 24
    ):
        raise t.error("hours", "expected [from, to] local hours, 0 <= from < to <= 24: [16, 22]")
    first_day, last_day = t.get("first_day", date), t.get("last_day", date)
    if last_day < first_day:
        raise t.error("last_day", f"must not be before first_day ({first_day}), got {last_day}")
    return HistoricalReplay(
        name=t.name("name"),
        first_day=first_day,
        last_day=last_day,
        probability=t.number("probability", min_value=0.0, max_value=1.0),
        hours=tuple(hours) if hours else None,
        onto=t.get("onto", date, None),
    )


def _cap_event(t: Table, allow: bool) -> CapEvent:
    t.reject_unknown({"name", "hours", "start_hour", "probability", "day", "price_usd_per_mwh"})
    price = t.number("price_usd_per_mwh", None, min_value=0.0)
    if price is not None:
        checked(t, "price_usd_per_mwh", price_problem(price, OFFER_CAP), allow=allow)
    return CapEvent(
        name=t.name("name"),
        hours=t.integer("hours", min_value=1, max_value=744),
        start_hour=t.integer("start_hour", min_value=0, max_value=23),
        probability=t.number("probability", min_value=0.0, max_value=1.0),
        day=t.get("day", date, None),
        price_usd_per_mwh=price,
    )


def _event_dict(event) -> dict:
    out = {"type": type(event).__name__}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        out[f.name] = value.isoformat() if isinstance(value, date) else value
    return out
