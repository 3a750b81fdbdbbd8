"""Run the energyhedge CLI and SIGKILL it just before the N-th rename made by one function.

Usage: ``python3 tests/kill_at_call.py FUNCTION N ARGS...`` runs ``energyhedge ARGS`` and kills
the process right before the N-th ``os.replace``, ``os.rename`` or ``os.symlink`` called directly
from a function named FUNCTION (e.g. ``_move_entries``, ``point_latest``). Crash tests use it to
land a kill at one exact step of publishing, which random delays almost never hit.
"""

from __future__ import annotations

import os
import signal
import sys


def _arm(function: str, n: int) -> None:
    """Wrap the three calls so that the N-th one from ``function`` kills the process first."""
    calls = 0
    for name in ("replace", "rename", "symlink"):
        real = getattr(os, name)

        def wrapped(*args, _real=real, **kwargs):
            nonlocal calls
            if sys._getframe(1).f_code.co_name == function:
                calls += 1
                if calls == n:
                    os.kill(os.getpid(), signal.SIGKILL)
            return _real(*args, **kwargs)

        setattr(os, name, wrapped)


if __name__ == "__main__":
    _arm(sys.argv[1], int(sys.argv[2]))
    from energyhedge.cli import main

    raise SystemExit(main(sys.argv[3:]))
