"""The array contract of one decision and its shared maths.

- ``problem``: ``HedgeProblem``, ``FlexClass``, ``Product``, ``Decision`` (plain arrays).
- ``cost``: the one scenario cost C_s, delivered GPU-hours and the real-time curtailment ladder.
- ``measures``: weighted quantile, VaR, CVaR, tail weights and their typed results.

Nothing here knows about files, solvers or reports; ``optimize``, valuation, back-tests and the
report all price decisions through these modules.
"""
