"""Where commands may write, and publishing a folder of outputs all at once.

The rule for every ``--out`` (one home, shared by optimize and the back-test):

- a path that does not exist is created atomically (a temporary sibling renamed into place);
- an empty folder, or a folder the engine wrote before (it holds :data:`MARKER_NAME`), gets the
  engine's files replaced and everything else in it (notes, sub-folders) kept: a folder holding
  only engine files is exchanged whole with the new one (old set or new set, never a mix); one
  with a user's files gets each engine file replaced in turn, and a run killed in between is
  completed by the next call;
- a non-empty folder without the marker, a file where a folder is expected, the working
  directory or any folder above it, the price store or any folder above it, and any folder above
  ``reports/latest`` are refused with a ``ConfigError`` (exit 2) saying what to do instead.

Nothing the engine did not create is ever deleted or moved.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from energyhedge.data.store import default_root
from energyhedge.errors import ConfigError
from energyhedge.lock import folder_lock, process_gone

MARKER_NAME = ".energyhedge-output"
"""JSON file the engine writes into every folder it publishes: ``{"command", "files"}``."""
_TRASH = ".replaced."


def check_out_dir(out_dir: str | Path, *, protected: Iterable[str | Path | None] = ()) -> Path:
    """The resolved ``out_dir`` if a command may publish there (see the module rule).

    ``protected`` adds folders (e.g. a ``--store`` given on the command line) that ``out_dir``
    must be neither equal to nor above. ConfigError (exit 2) otherwise, in one line.
    """
    resolved = _check_root(out_dir, protected, Path.cwd() / "reports" / "latest")
    if _is_foreign(resolved):
        given = Path(out_dir)
        raise ConfigError(
            f"--out {given}: folder is not empty and was not written by energyhedge (no "
            f"{MARKER_NAME}); give a new or empty folder, e.g. {given / 'run-1'}"
        )
    return resolved


def check_runs_root(out_dir: str | Path, *, protected: Iterable[str | Path | None] = ()) -> Path:
    """The resolved ``out_dir`` of a command that adds a new run folder inside it (nightly).

    Refused like :func:`check_out_dir` (a file, the working directory, the price store or a
    folder above them), except that a non-empty folder such as ``reports/`` is accepted.
    """
    return _check_root(out_dir, protected)


def _check_root(out_dir: str | Path, protected: Iterable[str | Path | None], *extra: Path) -> Path:
    given = Path(out_dir)
    if given.exists() and not given.is_dir():
        raise ConfigError(f"--out {given}: is a file, not a folder; give a folder path")
    resolved = given.resolve()
    guards = {Path.cwd(): "the working directory", default_root(): "the price store"}
    guards.update({Path(p): "the price store" for p in protected if p is not None})
    guards.update({path: "reports/latest" for path in extra})
    for guard, what in guards.items():
        if resolved == guard.resolve() or resolved in guard.resolve().parents:
            raise ConfigError(
                f"--out {given}: refusing to write into {resolved}, which is or contains {what}; "
                "give a new folder, e.g. reports/my-run"
            )
    return resolved


def check_out_file(out_file: str | Path) -> Path:
    """``out_file`` if a command may write a file there; ConfigError if it is a folder."""
    path = Path(out_file)
    if path.is_dir():
        raise ConfigError(f"--out {path}: is a folder, expected a file name such as {path}.out")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"--out {path}: {parent} is a file, not a folder")
    return path


@contextmanager
def atomic_directory(
    out_dir: str | Path,
    *,
    command: str = "energyhedge",
    protected: Iterable[str | Path | None] = (),
) -> Iterator[Path]:
    """Yield an empty temporary sibling folder to write into; on success publish it to ``out_dir``.

    A new ``out_dir`` is the temporary folder renamed into place. In an existing folder (empty,
    or one of ours) each file written is moved over its old copy, then the marker; a run killed
    during those moves is completed by the next call on the same ``out_dir``. On any error before
    publishing, the temporary folder is removed and ``out_dir`` is left as it was.
    ``command`` is recorded in the marker. Publishing (not writing) holds a lock on the parent
    folder, so two runs on one ``out_dir`` never interleave their files.
    """
    out = check_out_dir(out_dir, protected=protected)
    out.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(out.parent):
        _finish_interrupted(out)
    tmp = out.with_name(f".{out.name}.tmp.{os.getpid()}.{secrets.token_hex(4)}")
    tmp.mkdir()  # honours the umask, unlike tempfile.mkdtemp (0700)
    try:
        yield tmp
        written = sorted(p.name for p in tmp.iterdir())
        with folder_lock(out.parent):  # one publisher at a time: no interleaved files
            if out.is_dir():
                check_out_dir(out, protected=protected)  # still ours: nobody filled it meanwhile
                _write_marker(tmp, command, set(written) | _marked_files(out))
                if _only_ours(out):
                    _swap(tmp, out)
                else:
                    _move_entries(tmp, out)
            else:
                _write_marker(tmp, command, set(written))
                os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _only_ours(folder: Path) -> bool:
    """True when every entry of ``folder`` is a file the engine wrote (or the marker)."""
    ours = _marked_files(folder) | {MARKER_NAME}
    return all(entry.name in ours for entry in folder.iterdir())


def _swap(tmp: Path, out: Path) -> None:
    """Replace ``out`` (engine files only) by the complete ``tmp``: readers see the old set of
    files or the new one, never a mix. Engine files of the old run that this run did not write
    again are copied over first.

    The new folder is first renamed to a "replaced" name that ``_finish_interrupted`` sweeps
    (so a process killed before the exchange leaves the previous output), then exchanged with
    ``out`` in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``); the old folder, now
    under that name, is removed. Where the exchange is not available, two renames stand for it
    and ``out`` is absent for an instant.
    """
    for entry in out.iterdir():  # copied, not moved: ``out`` stays whole until the exchange
        if entry.name != MARKER_NAME and not (tmp / entry.name).exists():
            if entry.is_dir():
                shutil.copytree(entry, tmp / entry.name)
            else:
                shutil.copy2(entry, tmp / entry.name)
    staged = out.with_name(f".{out.name}{_TRASH}{os.getpid()}.{secrets.token_hex(4)}")
    os.rename(tmp, staged)
    if not _exchange(staged, out):
        old = out.with_name(f"{staged.name}.old")
        os.rename(out, old)
        os.rename(staged, out)
        staged = old
    shutil.rmtree(staged, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (``renameat2(..., RENAME_EXCHANGE)``); False if unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def _is_foreign(folder: Path) -> bool:
    """A non-empty folder without the marker."""
    if not folder.is_dir() or (folder / MARKER_NAME).is_file():
        return False
    return any(True for _ in folder.iterdir())


def _marked_files(folder: Path) -> set[str]:
    try:
        files = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {f for f in files if isinstance(f, str) and (folder / f).exists()}


def _write_marker(folder: Path, command: str, files: set[str]) -> None:
    doc = {"command": command, "files": sorted(files)}
    (folder / MARKER_NAME).write_text(json.dumps(doc) + "\n", encoding="utf-8")


def _move_entries(tmp: Path, out: Path) -> None:
    """Move every entry of a complete ``tmp`` (it holds the marker) into ``out``, marker last."""
    for entry in sorted(tmp.iterdir()):
        if entry.name == MARKER_NAME or entry.name.startswith(_TRASH):
            continue
        target = out / entry.name
        if entry.is_dir() and target.is_dir():  # a folder of ours: swap it whole
            os.rename(target, tmp / f"{_TRASH}{entry.name}")
            os.rename(entry, target)
        else:
            os.replace(entry, target)
    os.replace(tmp / MARKER_NAME, out / MARKER_NAME)
    shutil.rmtree(tmp)


def _finish_interrupted(out: Path) -> None:
    """Complete (marker present) or remove (no marker) temporary siblings of dead processes, and
    remove the replaced engine folders a swap (``_swap``) left behind."""
    for trash in out.parent.glob(f".{out.name}{_TRASH}*"):
        pid = trash.name.removeprefix(f".{out.name}{_TRASH}").split(".")[0]
        if pid.isdigit() and trash.is_dir() and process_gone(int(pid)):
            shutil.rmtree(trash, ignore_errors=True)
    prefix = f".{out.name}.tmp."
    for tmp in [p for p in out.parent.iterdir() if p.name.startswith(prefix)]:
        pid = tmp.name.removeprefix(prefix).split(".")[0]
        if not (pid.isdigit() and tmp.is_dir() and process_gone(int(pid))):
            continue
        if (tmp / MARKER_NAME).is_file() and out.is_dir():
            _move_entries(tmp, out)
        elif (tmp / MARKER_NAME).is_file() and not out.exists():
            os.rename(tmp, out)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
