"""Publishing a folder of outputs all at once: readers see the old folder or the new, never half."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_directory(out_dir: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling folder to write into; on success it replaces ``out_dir``.

    An existing ``out_dir`` is swapped out only once the new folder is complete; on any error
    the temporary folder is removed and ``out_dir`` is left as it was.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}.{secrets.token_hex(4)}"
    tmp = out_dir.with_name(f".{out_dir.name}.tmp.{tag}")
    tmp.mkdir()  # honours the umask, unlike tempfile.mkdtemp (0700)
    try:
        yield tmp
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old.{tag}")
            os.rename(out_dir, old)
            os.rename(tmp, out_dir)
            shutil.rmtree(old)
        else:
            os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
