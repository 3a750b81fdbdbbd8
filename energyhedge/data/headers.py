"""Header matching that ignores case, spaces, underscores, hyphens and dots.

ERCOT spells one column ``DeliveryDate`` (MIS CSV), ``Delivery Date`` (annual archive) and
``deliveryDate`` (public API); PJM uses snake_case. All of them normalise to ``deliverydate``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_IGNORED = re.compile(r"[\s_\-.\ufeff]+")


def normalize_header(name: str) -> str:
    """The comparison key of a header: lower case without spaces, underscores, hyphens, dots."""
    return _IGNORED.sub("", str(name)).lower()


def find_column(columns: Iterable[str], *candidates: str) -> str | None:
    """The first of ``columns`` whose normalised name equals a normalised candidate, else None.

    Candidates are tried in order, so earlier candidates win when several are present.
    """
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(normalize_header(column), column)
    for candidate in candidates:
        found = by_key.get(normalize_header(candidate))
        if found is not None:
            return found
    return None
