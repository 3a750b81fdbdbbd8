"""An exclusive lock on an output directory, so that two nightly runs cannot interleave.

The lock is ``fcntl.flock`` on ``<directory>/.lock``: the kernel releases it when the holder exits,
even after a crash, so a stale lock file never blocks the next run. The file records the holder's
pid, run id and start time for the message the second run prints.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from energyhedge.errors import ConfigError, LockedError

LOCK_NAME = ".lock"


def process_gone(pid: int) -> bool:
    """True when no process ``pid`` exists on this host (a pid of another user counts as alive)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _flock_within(fd: int, wait_s: float) -> bool:
    """Take an exclusive ``flock`` on ``fd``, retrying for up to ``wait_s`` seconds; False if
    another process still holds it then."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.2, max(deadline - time.monotonic(), 0.01)))


@contextmanager
def folder_lock(folder: str | Path, *, wait_s: float = 60.0) -> Iterator[None]:
    """Hold ``fcntl.flock`` on the folder itself (no lock file is created) for a short critical
    section, such as publishing into one of its sub-folders; LockedError after ``wait_s``."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        if not _flock_within(fd, wait_s):
            raise LockedError(
                f"{folder}: another process has been publishing into it for over "
                f"{wait_s:g} s; try again when it has finished"
            )
        yield
    finally:
        os.close(fd)  # releases the lock


class OutputLock:
    """Context manager holding the lock on ``directory``; waits up to ``wait_s`` seconds.

    Raises
    ------
    LockedError
        If another process still holds the lock after ``wait_s`` seconds (0: do not wait).
    """

    def __init__(self, directory: str | Path, *, wait_s: float = 0.0, owner: str = "") -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self.wait_s = max(float(wait_s), 0.0)
        self.owner = owner
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise LockedError naming the holder and what to do."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"cannot write to the output directory {self.directory} ({exc.strerror}); "
                "give a writable --out"
            ) from None
        if not _flock_within(fd, self.wait_s):
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            waited = f"after waiting {self.wait_s:g} s" if self.wait_s else "(no --wait)"
            raise LockedError(
                f"{self.directory}: another run holds the output lock {self.path} "
                f"{waited}; holder: {holder or 'unknown'}. Let it finish, or pass "
                f"--wait SECONDS to queue behind it."
            )
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} {self.owner} since {started}".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (the lock file stays; it is harmless when unlocked)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
