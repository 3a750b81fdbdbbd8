"""The output-directory lock: a second holder refuses at once, or waits and then gets it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from energyhedge.errors import ConfigError, LockedError
from energyhedge.lock import LOCK_NAME, OutputLock, folder_lock

REPO = Path(__file__).resolve().parents[1]


def _hold_in_child(directory: Path, seconds: float) -> subprocess.Popen:
    """A separate process that takes the lock, says so on stdout, and holds it ``seconds``."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from energyhedge.lock import OutputLock
        with OutputLock({str(directory)!r}, owner="run child"):
            print("held", flush=True)
            time.sleep({seconds})
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "held"
    return child


def test_second_process_refuses_with_a_clear_message(tmp_path: Path) -> None:
    child = _hold_in_child(tmp_path, 30)
    try:
        with pytest.raises(LockedError) as info, OutputLock(tmp_path, wait_s=0):
            pass
        message = str(info.value)
        assert str(tmp_path / LOCK_NAME) in message
        assert f"pid {child.pid} run child" in message
        assert "--wait" in message
        assert info.value.exit_code == 5
    finally:
        child.kill()
        child.wait()


def test_second_process_waits_then_gets_the_lock(tmp_path: Path) -> None:
    child = _hold_in_child(tmp_path, 1.0)
    t0 = time.monotonic()
    with OutputLock(tmp_path, wait_s=20, owner="second"):
        waited = time.monotonic() - t0
        assert (tmp_path / LOCK_NAME).read_text().startswith("pid ")
    child.wait()
    assert 0.3 < waited < 15


def test_wait_expires_with_locked_error(tmp_path: Path) -> None:
    child = _hold_in_child(tmp_path, 30)
    try:
        t0 = time.monotonic()
        with pytest.raises(LockedError, match=r"after waiting 0\.5 s"):
            OutputLock(tmp_path, wait_s=0.5).acquire()
        assert 0.45 < time.monotonic() - t0 < 5
    finally:
        child.kill()
        child.wait()


def test_lock_is_released_when_the_holder_dies(tmp_path: Path) -> None:
    child = _hold_in_child(tmp_path, 30)
    child.kill()
    child.wait()
    with OutputLock(tmp_path, wait_s=0):
        pass


def test_released_lock_can_be_taken_again_in_process(tmp_path: Path) -> None:
    with OutputLock(tmp_path):
        pass
    with OutputLock(tmp_path):
        assert (tmp_path / LOCK_NAME).exists()


def test_unwritable_output_directory_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match=r"cannot write to the output directory .*writable --out"):
        OutputLock(blocker / "reports").acquire()


def test_folder_lock_times_out_and_leaves_no_file(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import time
        from energyhedge.lock import folder_lock
        with folder_lock({str(tmp_path)!r}):
            print("held", flush=True)
            time.sleep(30)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with (
            pytest.raises(LockedError, match=r"publishing into it for over 0\.3 s") as info,
            folder_lock(tmp_path, wait_s=0.3),
        ):
            pass
        assert info.value.exit_code == 5
    finally:
        child.kill()
        child.wait()
    with folder_lock(tmp_path, wait_s=0):
        assert list(tmp_path.iterdir()) == []
