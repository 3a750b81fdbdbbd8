"""The MPI ranks a run was started on (``mpiexec -n N energyhedge ...``), or one rank.

mpi4py is imported only when an MPI launcher started the process (its rank variables are set),
so a plain run never initialises MPI. Every rank runs the same command; work split by
``Ranks.mine`` is put back together with ``Ranks.gather`` (every rank gets every part).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from energyhedge.errors import EnergyHedgeError

T = TypeVar("T")

LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")
"""Environment variables an MPI launcher sets in the processes it starts (Open MPI, MPICH's
Hydra, PMIx, Intel MPI)."""


@dataclass(frozen=True)
class Ranks:
    """This process's rank among ``size`` (``comm`` is mpi4py's world, None for one rank)."""

    rank: int = 0
    size: int = 1
    comm: object | None = None

    @property
    def root(self) -> bool:
        """True on rank 0, the rank that writes outputs."""
        return self.rank == 0

    def mine(self, n: int) -> list[int]:
        """The items of ``range(n)`` this rank takes (round robin)."""
        return list(range(self.rank, n, self.size))

    def gather(self, part):
        """Every rank's ``part``, in rank order, on every rank."""
        if self.comm is None:
            return [part]
        return self.comm.allgather(part)

    def share(self, value):
        """Rank 0's ``value`` on every rank."""
        if self.comm is None:
            return value
        return self.comm.bcast(value, root=0)

    def gather_each(self, compute: Callable[[], T]) -> list[T]:
        """``compute()`` on every rank, the results in rank order on every rank. An
        ``EnergyHedgeError`` raised on any rank is raised on every rank, so no rank waits for a
        result that never comes."""
        try:
            outcome = compute()
        except EnergyHedgeError as exc:
            if self.comm is None:
                raise
            outcome = exc
        outcomes = self.gather(outcome)
        failed = [o for o in outcomes if isinstance(o, EnergyHedgeError)]
        if failed:
            raise failed[0]
        return outcomes

    def on_root(self, compute: Callable[[], T]) -> T:
        """``compute()`` on rank 0 alone, its result (or its ``EnergyHedgeError``) on every
        rank."""
        return self.gather_each(lambda: compute() if self.root else None)[0]


def world() -> Ranks:
    """The ranks of this run: MPI's world when an MPI launcher started it, else one rank."""
    if not any(name in os.environ for name in LAUNCHER_VARIABLES):
        return Ranks()
    from mpi4py import MPI  # noqa: PLC0415 (only under an MPI launcher)

    comm = MPI.COMM_WORLD
    if comm.Get_size() == 1:
        return Ranks()
    return Ranks(rank=comm.Get_rank(), size=comm.Get_size(), comm=comm)
