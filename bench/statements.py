"""`tcd-hub bench api --statements`: what the hub asks its database, by statement shape.

The hub's engine is watched from inside its own process: each statement's time from being sent
to its rows being read (the server's work and the round trip), grouped by its SQL with the
values and the length of IN lists taken out, and how often a connection was checked out, a
transaction begun and committed (round trips of their own, which no statement shows)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.common import percentile

# Shapes quoted in the result, costliest (in total time) first.
QUOTED_SHAPES = 15
SQL_QUOTED = 240
_SPACES = re.compile(r"\s+")
# "IN ($3, $4, $5)" / "IN (?, ?, ?)" / "IN (__[POSTCOMPILE_x])": one shape whatever the length.
_IN_LIST = re.compile(r"IN \((?:\$\d+|\?|:\w+)(?:, (?:\$\d+|\?|:\w+))*\)")
_NUMBERED = re.compile(r"\$\d+")


def shape(sql: str) -> str:
    """A statement's SQL with its parameters' numbers and IN lists' lengths taken out."""
    flat = _SPACES.sub(" ", sql).strip()
    return _NUMBERED.sub("$", _IN_LIST.sub("IN (...)", flat))


@dataclass
class _Shape:
    times_ms: list[float] = field(default_factory=list)
    rows: int = 0


class StatementStats:
    """Per-shape timings of the statements an engine runs, and its connections opened,
    checkouts and commits."""

    def __init__(self) -> None:
        self.shapes: dict[str, _Shape] = {}
        self.events = {"connects": 0, "checkouts": 0, "begins": 0, "commits": 0, "rollbacks": 0}
        # Answered HTTP requests, counted by the caller (the bench's middleware).
        self.requests = 0

    def watch(self, engine: Engine) -> None:
        """Listen to `engine` (an AsyncEngine's sync_engine) from now on."""

        @event.listens_for(engine, "before_cursor_execute")
        def _before(
            _conn: Any, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool
        ) -> None:
            context._bench_started = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(
            _conn: Any, cursor: Any, sql: str, _params: Any, context: Any, _many: bool
        ) -> None:
            one = self.shapes.setdefault(shape(sql), _Shape())
            one.times_ms.append((time.perf_counter() - context._bench_started) * 1000)
            one.rows += max(0, int(getattr(cursor, "rowcount", 0) or 0))

        event.listen(engine.pool, "connect", self._counter("connects"))
        event.listen(engine.pool, "checkout", self._counter("checkouts"))
        event.listen(engine, "begin", self._counter("begins"))
        event.listen(engine, "commit", self._counter("commits"))
        event.listen(engine, "rollback", self._counter("rollbacks"))

    def _counter(self, key: str) -> Any:
        def count(*_args: Any) -> None:
            self.events[key] += 1

        return count

    def take(self) -> dict[str, Any]:
        """The report of what was seen since the last one (or the start), then forget it."""
        out = self.report()
        self.shapes = {}
        self.events = dict.fromkeys(self.events, 0)
        self.requests = 0
        return out

    def report(self) -> dict[str, Any]:
        """Totals per request and the costliest shapes: count, time, p50/p95 per statement."""
        per = max(1, self.requests)
        total = sum(len(s.times_ms) for s in self.shapes.values())
        shapes = []
        for sql, one in sorted(self.shapes.items(), key=lambda kv: -sum(kv[1].times_ms)):
            ordered = sorted(one.times_ms)
            shapes.append(
                {
                    "sql": sql[:SQL_QUOTED],
                    "count": len(ordered),
                    "total_ms": round(sum(ordered), 1),
                    "p50_ms": round(percentile(ordered, 0.50), 2),
                    "p95_ms": round(percentile(ordered, 0.95), 2),
                    "max_ms": round(ordered[-1], 2),
                }
            )
        return {
            "requests": self.requests,
            "statements_per_request": round(total / per, 2),
            **{f"{k}_per_request": round(v / per, 2) for k, v in self.events.items()},
            "statement_ms_per_request": round(
                sum(sum(s.times_ms) for s in self.shapes.values()) / per, 2
            ),
            "shapes": len(shapes),
            "costliest": shapes[:QUOTED_SHAPES],
        }
