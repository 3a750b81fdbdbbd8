"""The inputs of one hedge-and-schedule decision, and the decision itself, as plain arrays.

``HedgeProblem`` is what the optimiser (``energyhedge.optimize``) solves and what valuation and
back-tests (``energyhedge.risk``, ``energyhedge.backtest``) price a ``Decision`` against. It is
built from a campus, a contract catalogue and price scenarios by
``energyhedge.assemble.build_problem``; nothing here knows about files or solvers.

Shapes: T intervals, S scenarios, J flexible job classes, K hedge products, A DR/AS products
(programmes offered together by the same curtailable load).
All power is facility power (GPU power x PUE, plus host and cooling), in MW.

Scenario cost (the quantity whose distribution the engine reports), in $:

    C_s =   sum_t h_t * P_st * L_st                       energy bought
          + sum_k (x+_k * ask_k - x-_k * bid_k)           hedge premiums (bought at the ask,
                                                          sold at the bid)
          - sum_k x_k * payoff_sk                         hedge payoffs
          + sum_t cp_weight_st * L_st                     coincident-peak tags
          - sum_a,t h_t * dr_price_ast * r_at             DR/AS availability revenue
          + sum_a,t h_t * dr_penalty_a * shortfall_ast    DR/AS non-delivery penalty
          + sum_j value_j * (full_work_j - work_js)       value of flexible work not done
          + sum_j unserved_j * max(req_j - work_js, 0)    work-requirement shortfall penalty
          + sum_j stop_cost_j * stops_js                  restarts after full stops (in the LP
                                                          only for committed classes, as
                                                          day-ahead stops: integers)

where L_st = firm_load_mw_t + sum_j power_jst is the campus load, power_jst the power class j
actually draws, work_js its delivered GPU-hours, and h_t the interval length in hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from energyhedge.model.curves import curve_segments


@dataclass(frozen=True)
class FlexClass:
    """One flexible (curtailable) job class over the horizon.

    Attributes
    ----------
    name : str
    max_mw : ndarray [T]
        Facility MW the class draws at full speed in each interval (0 where it may not run,
        e.g. during an exogenous curtailment event).
    gpu_hours_per_mwh : float
        GPU-hours of work one facility-MWh delivers at full speed (GPU-h/MWh).
    value_usd_per_gpu_hour : float
        Value of one GPU-hour of this class's work ($/GPU-h). Break-even price is
        ``value_usd_per_gpu_hour * gpu_hours_per_mwh`` ($/MWh).
    curve_power_frac, curve_work_frac : ndarray [M]
        Concave piecewise-linear power-to-throughput curve: breakpoints as fractions of
        ``max_mw`` and of full-speed throughput, starting at (0, 0) and ending at (1, 1).
    ramp_mw_per_h : float
        Largest change of scheduled power between consecutive intervals (MW/h); inf if none.
    rt_curtailable : bool
        True if the class can be curtailed in real time (per scenario); False if only the
        day-ahead schedule can change its power.
    work_requirement_gpu_hours : float
        GPU-hours that must be delivered over the horizon (0 if none).
    unserved_usd_per_gpu_hour : float
        Penalty per GPU-hour of the requirement not delivered ($/GPU-h).
    stop_cost_usd : float
        What one full stop of the class costs beyond the hours it does not run ($): the work
        lost since the last checkpoint and during the restart, plus any fixed restart cost.
        Charged in valuation on every path; the LP charges it only for the day-ahead stops of
        a committed class (``committed``).
    requirement_intervals : int or None
        A deadline: only work in the first ``requirement_intervals`` intervals counts toward
        the requirement (None: the whole horizon); ``unserved_usd_per_gpu_hour`` is then the
        value of a GPU-hour late.
    min_run_h, min_off_h : float
        Day-ahead commitment: once started, the schedule keeps the class on for at least
        ``min_run_h`` hours; once stopped, off for at least ``min_off_h`` hours (0: no minimum).
        A class with either is ``committed``: the LP decides on/off per interval with binary
        columns and charges ``stop_cost_usd`` per scheduled stop. The real-time ladder does not
        enforce them (a real-time stop pays its stop cost in valuation).
    min_power_frac : float
        Committed classes: fraction of ``max_mw`` the schedule draws at least while on, in
        (0, 1], so that "on" means drawing power, as valuation counts stops.
    """

    name: str
    max_mw: np.ndarray
    gpu_hours_per_mwh: float
    value_usd_per_gpu_hour: float
    curve_power_frac: np.ndarray
    curve_work_frac: np.ndarray
    ramp_mw_per_h: float = float("inf")
    rt_curtailable: bool = True
    work_requirement_gpu_hours: float = 0.0
    unserved_usd_per_gpu_hour: float = 0.0
    stop_cost_usd: float = 0.0
    requirement_intervals: int | None = None
    min_run_h: float = 0.0
    min_off_h: float = 0.0
    min_power_frac: float = 1.0

    @property
    def committed(self) -> bool:
        """True if the day-ahead schedule decides on/off with minimum run and off times."""
        return self.min_run_h > 0 or self.min_off_h > 0

    @property
    def requirement_window(self) -> slice:
        """The intervals whose work counts toward the requirement (up to the deadline)."""
        return slice(0, self.requirement_intervals)

    @property
    def break_even_usd_per_mwh(self) -> float:
        """Price above which running this class at full speed costs more than its work is worth."""
        return self.value_usd_per_gpu_hour * self.gpu_hours_per_mwh

    @property
    def sheds_in_real_time(self) -> bool:
        """True if the real-time ladder may shed this class: it is real-time curtailable and has
        no hard work requirement (an infinite unserved penalty), which only the day-ahead
        schedule, run in full, is sure to meet."""
        hard = self.work_requirement_gpu_hours > 0 and not np.isfinite(
            self.unserved_usd_per_gpu_hour
        )
        return self.rt_curtailable and not hard

    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Widths (fraction of ``max_mw``) and slopes of the power-to-throughput curve, [M]."""
        return curve_segments(
            self.curve_power_frac, self.curve_work_frac, f"job class {self.name!r}"
        )

    def segment_value_usd_per_mwh(self) -> np.ndarray:
        """Value of the work one MWh delivers on each curve segment ($/MWh, [M], non-increasing).

        Break-even price x slope: the real-time ladder runs segment m while the price (plus the
        interval's tag weight) is at most this value.
        """
        return self.break_even_usd_per_mwh * self.segments()[1]


@dataclass(frozen=True)
class Product:
    """One hedge product the trader may buy (or, for blocks, sell), priced on the scenarios.

    Attributes
    ----------
    name : str
        Catalogue id, e.g. ``"scarcity_1000_7x24"``.
    kind : str
        ``"block" | "call" | "scarcity" | "heat_rate_call"``.
    payoff_usd_per_mw : ndarray [S]
        Total payoff over the horizon of 1 MW of notional in each scenario ($/MW). A block's
        payoff is measured against its reference price ``meta["strike_usd_per_mwh"]``
        (sum of (P - F) x hours); what a trade really pays relative to it is in the premiums.
    premium_usd_per_mw : float
        What buying 1 MW of notional pays over the horizon ($/MW), the ask side: the trader's
        quote when given, else the mid plus the stated loading.
    sale_premium_usd_per_mw : float
        What selling 1 MW of notional receives over the horizon ($/MW), the bid side: the mid
        minus the loading (for a block at its mid reference price: minus the spread, so a
        negative number). A sale never earns the buyer's price.
    fair_premium_usd_per_mw : float
        Mid: the expected payoff under the scenarios ($/MW), kept for the report.
    notional_hours : float
        Hours of the product's shape and tenor inside the horizon (h); premium / notional_hours
        is the price per MWh.
    min_mw, max_mw : float
        Bounds of the quantity (MW notional). Blocks may have ``min_mw < 0`` (a sale).
    meta : dict
        Display fields for trades tables: iso, node, shape, strike_usd_per_mwh, start, end.
    """

    name: str
    kind: str
    payoff_usd_per_mw: np.ndarray
    premium_usd_per_mw: float
    fair_premium_usd_per_mw: float
    sale_premium_usd_per_mw: float | None = None
    notional_hours: float = 0.0
    min_mw: float = 0.0
    max_mw: float = float("inf")
    meta: dict = field(default_factory=dict)

    @property
    def bid_usd_per_mw(self) -> float:
        """What a sale of 1 MW receives ($/MW); the ask when no bid side is known (no spread)."""
        if self.sale_premium_usd_per_mw is None:
            return self.premium_usd_per_mw
        return self.sale_premium_usd_per_mw

    @property
    def sellable(self) -> bool:
        """True if the catalogue allows a sale (``min_mw < 0``)."""
        return self.min_mw < 0.0


@dataclass(frozen=True)
class HedgeProblem:
    """Everything one decision depends on, as arrays (see the module docstring for the cost).

    Attributes
    ----------
    interval_start_utc : ndarray [T] of datetime64[us]
    interval_hours : ndarray [T]
        Length of each interval (h).
    prices_usd_per_mwh : ndarray [S, T]
        Settlement price of the campus's energy in each scenario and interval ($/MWh).
    probabilities : ndarray [S]
        Scenario probabilities, summing to 1.
    firm_load_mw : ndarray [T]
        Facility MW that always runs: must-serve inference and the base load of paused hosts.
    firm_gpu_hours : ndarray [T]
        GPU-hours the firm load delivers in each interval (inference work).
    firm_value_usd_per_gpu_hour : float
        Value of one GPU-hour of must-serve work ($/GPU-h), for "value of compute produced".
    flex : tuple[FlexClass, ...]
        Flexible job classes (J).
    grid_limit_mw : float
        Campus grid connection limit (MW).
    products : tuple[Product, ...]
        Hedge products (K).
    dr_price_usd_per_mw_h : ndarray [A, S, T]
        Availability price each DR/AS product pays per MW held per hour in each scenario
        ($/MW-h): a fixed programme price, or an ancillary-service clearing price carried with
        the scenarios; zeros if no programme. An [S, T] array is one product, a [T] array one
        product at the same price in every scenario.
    dr_max_mw : ndarray [A]
        Largest offer of each product (MW); a number is one product. The offers together are
        at most what the ladder can shed (the curtailable schedule).
    dr_deployed : ndarray [A, S, T] of bool
        Intervals in which each product's held capacity is called and must be curtailed ([S, T]:
        one product).
    dr_penalty_usd_per_mwh : ndarray [A]
        Penalty per MWh of a called product not delivered ($/MWh; a number: one product).
        Curtailment serves the called products with the highest penalty first.
    cp_weight_usd_per_mw : ndarray [S, T]
        Coincident-peak tag cost per MW of campus load in each interval ($/MW): tag rate
        times the chance that interval sets the tag. Zeros if no exposure.
    dr_names : tuple[str, ...]
        Name of each DR/AS product (A; default ``dr1``, ``dr2``, ...).
    """

    interval_start_utc: np.ndarray
    interval_hours: np.ndarray
    prices_usd_per_mwh: np.ndarray
    probabilities: np.ndarray
    firm_load_mw: np.ndarray
    firm_gpu_hours: np.ndarray
    firm_value_usd_per_gpu_hour: float
    flex: tuple[FlexClass, ...]
    grid_limit_mw: float
    products: tuple[Product, ...]
    dr_price_usd_per_mw_h: np.ndarray
    dr_max_mw: float
    dr_deployed: np.ndarray
    dr_penalty_usd_per_mwh: float
    cp_weight_usd_per_mw: np.ndarray
    dr_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        price = np.asarray(self.dr_price_usd_per_mw_h, dtype=float)
        if price.ndim == 1:  # one price for every scenario
            price = np.broadcast_to(price, self.prices_usd_per_mwh.shape)
        if price.ndim == 2:  # one product
            price = price[None]
        deployed = np.asarray(self.dr_deployed, dtype=bool)
        if deployed.ndim == 2:
            deployed = deployed[None]
        max_mw = np.atleast_1d(np.asarray(self.dr_max_mw, dtype=float))
        penalty = np.atleast_1d(np.asarray(self.dr_penalty_usd_per_mwh, dtype=float))
        names = tuple(self.dr_names) or tuple(f"dr{a + 1}" for a in range(max_mw.size))
        object.__setattr__(self, "dr_price_usd_per_mw_h", price)
        object.__setattr__(self, "dr_deployed", deployed)
        object.__setattr__(self, "dr_max_mw", max_mw)
        object.__setattr__(self, "dr_penalty_usd_per_mwh", penalty)
        object.__setattr__(self, "dr_names", names)

    @property
    def n_dr(self) -> int:
        """Number of DR/AS products (A)."""
        return int(self.dr_max_mw.size)

    @property
    def offers_dr(self) -> bool:
        """True if any DR/AS product may be offered (a positive ``dr_max_mw``)."""
        return bool(np.any(self.dr_max_mw > 0))

    def no_dr_offer(self) -> np.ndarray:
        """``Decision.dr_mw`` of a decision that offers nothing, [A, T] zeros."""
        return np.zeros((self.n_dr, self.n_intervals))

    @property
    def n_scenarios(self) -> int:
        return int(self.prices_usd_per_mwh.shape[0])

    @property
    def n_intervals(self) -> int:
        return int(self.prices_usd_per_mwh.shape[1])


@dataclass(frozen=True)
class Decision:
    """What the engine recommends: first-stage quantities, plus whether real time follows the
    curtailment ladder (``energyhedge.model.cost``).

    Attributes
    ----------
    product_mw : ndarray [K]
        MW of notional of each product: positive bought at the ask, negative sold at the bid.
    schedule_mw : ndarray [J, T]
        Day-ahead schedule: facility MW each flexible class plans to draw.
    dr_mw : ndarray [A, T]
        Capacity offered to each DR/AS product (MW); a [T] array is one product.
    follows_ladder : bool
        True: in real time each curtailable class runs the curve segments whose marginal value
        covers the price (the curtailment ladder); False: every class draws its schedule.
    stop_above_usd_per_mwh : ndarray [J] or None
        Restart-aware ladder: a class whose last rung would be shed stops fully only once the
        price exceeds this level, and then stays off until the price falls below its last
        rung's value (hysteresis); in between it keeps its first rung. None: stop at the last
        rung's value (``model.cost.restart_thresholds`` sets it from the scenarios).
    work_value_usd_per_gpu_hour : ndarray [J] or None
        What one more GPU-hour of work toward a class's requirement is worth beyond its value
        ($/GPU-h; the LP's shadow price of the requirement): the ladder adds it to the value of
        work done before the class's deadline, so it sheds less of the work it must make up.
    """

    product_mw: np.ndarray
    schedule_mw: np.ndarray
    dr_mw: np.ndarray
    follows_ladder: bool = True
    stop_above_usd_per_mwh: np.ndarray | None = None
    work_value_usd_per_gpu_hour: np.ndarray | None = None

    def __post_init__(self) -> None:
        dr_mw = np.asarray(self.dr_mw, dtype=float)
        object.__setattr__(self, "dr_mw", dr_mw[None] if dr_mw.ndim == 1 else dr_mw)
