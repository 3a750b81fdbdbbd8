"""The progress bar: drawn on a terminal, absent under --quiet and when stderr is not a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_nightly import AS_OF, write_profile

REPO = Path(__file__).resolve().parents[1]


def _stderr_on_a_terminal(tmp_path: Path, *more: str) -> str:
    """Run the nightly command with stderr on a pseudo-terminal and return what it drew."""
    leader, follower = os.openpty()
    args = [
        sys.executable,
        "-m",
        "energyhedge",
        "nightly",
        "--config",
        str(write_profile(tmp_path)),
        "--as-of",
        AS_OF,
        "--out",
        str(tmp_path / "out"),
        "--offline",
        *more,
    ]
    with subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=follower) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the terminal closes when the child exits
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(timeout=120) == 0
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_bar_on_a_terminal(tmp_path: Path) -> None:
    drawn = _stderr_on_a_terminal(tmp_path)
    assert "nightly [##############################] 7/7" in drawn


def test_no_bar_with_quiet(tmp_path: Path) -> None:
    assert "nightly [" not in _stderr_on_a_terminal(tmp_path, "--quiet")


def test_no_bar_without_a_terminal(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "energyhedge",
            "nightly",
            "--config",
            str(write_profile(tmp_path)),
            "--as-of",
            AS_OF,
            "--out",
            str(tmp_path / "out"),
            "--offline",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0
    assert "nightly [" not in done.stderr
    assert done.stdout.startswith("energyhedge: nightly run ")
