"""Settings of one optimisation: risk form, CVaR level, solver options and time limit."""

from __future__ import annotations

from dataclasses import dataclass, field

from energyhedge.errors import ConfigError

DEFAULT_HIGHS_OPTIONS = {"solver": "simplex", "presolve": "off"}
HEDGE_RATIO_SHAPES = ("5x16", "2x16", "7x8", "7x24", "wrap")
"""Shapes a hedge-ratio limit may name (``wrap``: every hour outside 5x16)."""


@dataclass(frozen=True)
class HedgeRatioLimit:
    """Net block MW in a shape's hours, as a fraction of the campus's expected load there.

    ``lower`` and ``upper`` are fractions (-0.1 is a 10 % net sale, 1.0 a full hedge); see
    ``energyhedge.optimize.hedge_ratio`` for how both sides are measured.
    """

    shape: str
    lower: float
    upper: float

    def __post_init__(self) -> None:
        if self.shape not in HEDGE_RATIO_SHAPES:
            raise ConfigError(
                f"hedge-ratio shape {self.shape!r}; expected one of {', '.join(HEDGE_RATIO_SHAPES)}"
            )
        if not -10.0 <= self.lower <= self.upper <= 10.0:
            raise ConfigError(
                f"hedge-ratio limit for {self.shape}: need -10 <= lower <= upper <= 10 "
                f"(fractions of load), got [{self.lower:g}, {self.upper:g}]"
            )


@dataclass(frozen=True)
class SolveOptions:
    """How to solve a ``HedgeProblem``.

    Attributes
    ----------
    alpha : float
        CVaR confidence level in (0, 1), e.g. 0.95: CVaR is the mean of the worst 5 % of costs.
    cvar_weight : float
        lambda of the penalty form: minimise E[C] + lambda * CVaR_alpha(C) (>= 0).
    cvar_budget_usd : float or None
        When set, the budget form instead: minimise E[C] subject to CVaR_alpha(C) <= budget ($).
    time_limit_s : float
        Wall-clock limit of each HiGHS call (s); always finite.
    mip_rel_gap : float
        Relative gap at which HiGHS stops the MIP of a campus with committed job classes
        (``FlexClass.committed``); unused otherwise.
    highs_options : dict
        HiGHS options passed verbatim. The default, dual simplex without presolve, solves the
        daily benchmark far faster than with presolve, which spends most of its time on the
        dense scenario-cost rows.
    marginals : bool
        Also compute the by-products that need extra solves (value of flexible MW).
    max_nonzeros : int
        Largest LP (constraint-matrix nonzeros) built in memory; larger runs are refused before
        building, with their size. The weekly benchmark (about 3.7 million nonzeros) peaks near
        1.1 GB of resident memory.
    hedge_ratio : tuple[HedgeRatioLimit, ...]
        Limits on the net block MW per shape (the run profile's ``[risk.hedge_ratio]``).
    """

    alpha: float = 0.95
    cvar_weight: float = 1.0
    cvar_budget_usd: float | None = None
    time_limit_s: float = 60.0
    mip_rel_gap: float = 1e-4
    highs_options: dict = field(default_factory=lambda: dict(DEFAULT_HIGHS_OPTIONS))
    marginals: bool = True
    max_nonzeros: int = 50_000_000
    hedge_ratio: tuple[HedgeRatioLimit, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"alpha must be in (0, 1), got {self.alpha:g}")
        if self.cvar_weight < 0:
            raise ConfigError(f"lambda (CVaR weight) must be >= 0, got {self.cvar_weight:g}")
        if not 0 < self.time_limit_s < float("inf"):
            raise ConfigError(f"time limit must be positive and finite, got {self.time_limit_s:g}")
        if not 0.0 <= self.mip_rel_gap < 1.0:
            raise ConfigError(f"mip_rel_gap must be in [0, 1), got {self.mip_rel_gap:g}")

    @property
    def budget_form(self) -> bool:
        """True when minimising E[C] under a CVaR budget rather than E[C] + lambda * CVaR."""
        return self.cvar_budget_usd is not None
