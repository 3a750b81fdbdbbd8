"""Running tests under MPI: skip without mpiexec, mpi4py or mpi-sppy (fail instead when
ENERGYHEDGE_REQUIRE_MPI=1, as CI sets), and launch ``mpiexec -n N`` with the repository on the
path."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def require_mpi(*, launcher: bool = False) -> None:
    """Skip (or fail, with ENERGYHEDGE_REQUIRE_MPI=1) unless the MPI extra is installed, and
    ``mpiexec`` too when ``launcher``."""
    missing = [name for name in ("mpi4py", "mpisppy") if importlib.util.find_spec(name) is None]
    if launcher and shutil.which("mpiexec") is None:
        missing.append("mpiexec")
    if missing:
        if os.environ.get("ENERGYHEDGE_REQUIRE_MPI") == "1":
            pytest.fail(f"ENERGYHEDGE_REQUIRE_MPI=1 but {', '.join(missing)} missing")
        pytest.skip(f"{', '.join(missing)} not installed (pip install '.[mpi]', openmpi-bin)")


def mpiexec(ranks: int, argv: list[str], cwd: Path, timeout: float = 600) -> str:
    """Run ``python3 ARGV...`` on ``ranks`` MPI ranks in ``cwd``; its stdout (asserts exit 0)."""
    done = mpiexec_run(ranks, argv, cwd, timeout)
    assert done.returncode == 0, (
        f"{' '.join(done.args)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def mpiexec_run(
    ranks: int, argv: list[str], cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess:
    """``python3 ARGV...`` on ``ranks`` MPI ranks in ``cwd``, whatever its exit code (raises
    ``subprocess.TimeoutExpired`` when it does not end within ``timeout`` s)."""
    require_mpi(launcher=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    # Open MPI refuses to start as root without both (containers and CI run as root)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command = ["mpiexec", "--oversubscribe", "-n", str(ranks), sys.executable, *argv]
    return subprocess.run(
        command, check=False, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd
    )
