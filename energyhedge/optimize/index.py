"""Index maps: named blocks of consecutive columns (or rows) of the extensive-form LP.

A ``Layout`` hands out contiguous ranges, so every variable or constraint family is addressed by
vectorised index arithmetic (``layout["seg0"].idx`` is an integer array of the block's shape)
and the size of the model is known before any matrix is built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Block:
    """A family of columns or rows: ``size`` consecutive indices from ``start``, as ``shape``."""

    name: str
    start: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def idx(self) -> np.ndarray:
        """The block's global indices, shaped ``shape`` (C order)."""
        return self.start + np.arange(self.size, dtype=np.int64).reshape(self.shape)

    def take(self, values: np.ndarray) -> np.ndarray:
        """The block's entries of a vector over all columns (or rows), shaped ``shape`` (a view)."""
        return values[self.start : self.start + self.size].reshape(self.shape)


class Layout:
    """An ordered set of blocks; ``n`` is the total count (columns or rows)."""

    def __init__(self) -> None:
        self.blocks: dict[str, Block] = {}
        self.n = 0

    def add(self, name: str, shape: tuple[int, ...]) -> Block:
        """Append a block of the given shape and return it."""
        if name in self.blocks:
            raise ValueError(f"block {name!r} already defined")
        block = Block(name, self.n, tuple(int(s) for s in shape))
        self.blocks[name] = block
        self.n += block.size
        return block

    def __getitem__(self, name: str) -> Block:
        return self.blocks[name]

    def __contains__(self, name: str) -> bool:
        return name in self.blocks
