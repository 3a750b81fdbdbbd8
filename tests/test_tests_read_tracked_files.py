"""Tests read only files a clean clone has: a path under the repository that git ignores (the
local price store, generated reports) exists on a developer's machine and nowhere else, so a
test reading it passes here and fails in CI."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from conftest import REPO_ROOT

REPO_PATH = re.compile(r"(?<![.\w])(?:repo_root|REPO_ROOT)((?:\s*/\s*\"[^\"]+\")+)")
"""``repo_root / "a" / "b"`` (or ``REPO_ROOT / ...``, not a module's ``x.REPO_ROOT``) in a test's
source: group 1 the parts."""


def repo_paths(source: str) -> list[str]:
    """The repository-relative paths a test's source builds from the repository root."""
    return [
        "/".join(re.findall(r"\"([^\"]+)\"", match.group(1)))
        for match in REPO_PATH.finditer(source)
    ]


def test_repo_paths_are_read_from_test_sources():
    source = 'a = repo_root / "models" / "runs"\nb = REPO_ROOT/"reports" /"example"'
    assert repo_paths(source) == ["models/runs", "reports/example"]


def test_no_test_reads_a_path_git_ignores():
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    paths = {
        path: test.name
        for test in sorted((REPO_ROOT / "tests").glob("*.py"))
        for path in repo_paths(test.read_text(encoding="utf-8"))
    }
    assert "models/runs" in paths  # the scan sees the tests' paths at all
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=REPO_ROOT,
        input="\n".join(paths),
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert {path: paths[path] for path in ignored} == {}
