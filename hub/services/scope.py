"""SQL filters for office scope: an office sees its own and its descendants' records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_


def subtree_range(path: str) -> tuple[str, str]:
    """Bounds [low, high) of every materialised path at or below `path`.

    Paths look like '/1/5/'; every descendant starts with that prefix, and '0' sorts right after
    '/', so '/1/50' bounds them all. A range (unlike LIKE) uses the index on any back end.
    """
    return path, path[:-1] + "0"


def in_subtree(column: Any, path: str) -> ColumnElement[bool]:
    """A WHERE clause: `column` (a path column) lies at or below `path`."""
    low, high = subtree_range(path)
    return and_(column >= low, column < high)
