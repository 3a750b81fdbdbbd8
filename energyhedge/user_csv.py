"""Small CSV files a trader keeps by hand (forward marks, the hedge book): one reader.

Blank lines and lines starting with ``#`` are comments; the first other line is the header.
Errors name the file and line (and the column, from the caller), as every input error does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from energyhedge.errors import DataError


def read_text(path: str | Path, what: str) -> str:
    """The file's text, a leading byte-order mark dropped; DataError if it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the {what} file: {exc}") from None


def rows(
    text: str,
    path: str | Path,
    *,
    columns: tuple[str, ...],
    optional: tuple[str, ...] = (),
    max_rows: int,
    what: str,
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: stripped cell}) of each data line of ``text``.

    Raises
    ------
    DataError
        No header, a missing or unknown column, more than ``max_rows`` rows of ``what``, or a
        line whose cell count differs from the header's.
    """
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)]
    lines = [(n, line) for n, line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise DataError(f"{path}: no header line; expected columns {', '.join(columns)}")
    header_line, header = lines[0]
    names = [c.strip() for c in next(csv.reader([header]))]
    missing = [c for c in columns if c not in names]
    if missing:
        raise DataError(
            f"{path}:{header_line}: missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(columns)} (optional: {', '.join(optional)})"
        )
    unknown = [c for c in names if c not in columns + optional]
    if unknown:
        raise DataError(f"{path}:{header_line}: unknown column(s) {', '.join(unknown)}")
    if len(lines) - 1 > max_rows:
        raise DataError(f"{path}: {len(lines) - 1:,} {what}; at most {max_rows:,}")
    for number, line in lines[1:]:
        cells = next(csv.reader(io.StringIO(line)))
        if len(cells) != len(names):
            raise DataError(
                f"{path}:{number}: {len(cells)} cells, the header has {len(names)}; "
                "check for a missing or extra comma"
            )
        yield number, dict(zip(names, (c.strip() for c in cells), strict=True))
