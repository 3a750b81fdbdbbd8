"""Run the energyhedge CLI and signal it just before the N-th rename made by one function.

Usage: ``python3 tests/signal_at_call.py SIGNAL FUNCTION N ARGS...`` runs ``energyhedge ARGS``
and sends itself SIGNAL (``KILL`` or ``STOP``) right before the N-th ``os.replace``,
``os.rename`` or ``os.symlink`` called directly from a function named FUNCTION (e.g.
``_move_entries``, ``point_latest``). Crash tests use KILL to land a kill at one exact step of
publishing, which random delays almost never hit; concurrency tests use STOP to hold a run at a
known point (with its output lock) until they send SIGCONT.
"""

from __future__ import annotations

import os
import signal
import sys


def _arm(signum: int, function: str, n: int) -> None:
    """Wrap the three calls so that the N-th one from ``function`` is preceded by ``signum``."""
    calls = 0
    for name in ("replace", "rename", "symlink"):
        real = getattr(os, name)

        def wrapped(*args, _real=real, **kwargs):
            nonlocal calls
            if sys._getframe(1).f_code.co_name == function:
                calls += 1
                if calls == n:
                    os.kill(os.getpid(), signum)
            return _real(*args, **kwargs)

        setattr(os, name, wrapped)


if __name__ == "__main__":
    _arm(signal.Signals[f"SIG{sys.argv[1]}"], sys.argv[2], int(sys.argv[3]))
    from energyhedge.cli import main

    raise SystemExit(main(sys.argv[4:]))
