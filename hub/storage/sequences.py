"""Named counters (petitions' case codes, minutes' numbers): the next value, atomically."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.storage.tables import SequenceRow


async def next_value(session: AsyncSession, name: str) -> int:
    """The counter's next value (1 for a new counter), in the caller's transaction."""
    # One atomic upsert: two requests taking a counter's first value at once must not both
    # try to create it.
    dialect = session.bind.dialect.name
    upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(SequenceRow).values(
        name=name, value=1
    )
    result = await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[SequenceRow.name], set_={"value": SequenceRow.value + 1}
        ).returning(SequenceRow.value)
    )
    return int(result.scalar_one())
