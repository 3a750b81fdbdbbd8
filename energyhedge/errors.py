"""Errors a user can act on, each with the process exit code the CLI returns for it.

Exit codes (documented in the README for cron users):

====  ==========================================================
0     success
1     unexpected internal error (a bug: please report it)
2     bad configuration or command line
3     bad or missing market data, or an ISO API that failed
4     infeasible campus, solver failure or solver time limit
5     another run holds the lock on the same output directory
====  ==========================================================
"""


class EnergyHedgeError(Exception):
    """Base of all errors that carry a message meant for the user."""

    exit_code = 1


class ConfigError(EnergyHedgeError):
    """A configuration file or command-line option is wrong; the message names file, key, reason."""

    exit_code = 2


class DataError(EnergyHedgeError):
    """Market data is malformed, missing, or could not be fetched; nothing was written."""

    exit_code = 3


class InfeasibleError(EnergyHedgeError):
    """The campus cannot meet its constraints; the message explains why in campus terms."""

    exit_code = 4


class SolverError(EnergyHedgeError):
    """The solver failed or stopped at its time limit without a usable solution."""

    exit_code = 4


class LockedError(EnergyHedgeError):
    """Another run is writing to the same output directory."""

    exit_code = 5
