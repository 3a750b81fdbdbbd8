"""A fleet of campuses in ERCOT and PJM: movable work, joint scenarios, one co-optimisation.

``model`` reads the fleet file, ``scenarios`` draws the same historical days at every campus,
``lp`` stacks each campus's LP families and couples them (where movable work runs, migration
limits and cost, one CVaR over the fleet's cost), ``compute`` prices the GPU-hours the fleet
sells (reservations and index swaps) and ``service`` runs a decision and values it out of
sample.
"""
