"""PostgreSQL: the register's totals kept per office, month, type, status and crowd flag

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:30:00.000000

The register's list shows an exact total under every filter. The covering indexes of 0002 count
it without the table, but still entry by entry: on two million petitions (several years of
national intake) a central user's unfiltered total is an index-only scan of all of them, 0.3-1 s.

`petition_counts` holds how many petitions each (office, month received, type, status, crowd)
has. Statement-level triggers with transition tables keep it exact on every insert, update,
delete and truncate, one grouped upsert per statement (a bulk COPY of thousands of rows costs
one). A total is then the sum over the months the dates take whole, plus the petitions of the
part-months at either end counted from the covering indexes (a few days of entries):
hub.services.petition_counts. SQLite is untouched (its counts come from FTS5 and indexes over
the smaller registers it serves).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "office_id, received_month, type, status, crowd"


GROUP = "office_id, date_trunc('month', received_on)::date, type, status, crowd"


def _apply(changes: str) -> str:
    """Add up `changes` (rows of KEY and d, +1 or -1) into petition_counts. A change that
    leaves a petition in its group (a text edit, a date within the month) adds up to nothing
    and writes nothing; groups go in key order, so statements lock them in one order."""
    return (
        f"WITH changes ({KEY}, d) AS ({changes}) "
        f"INSERT INTO petition_counts AS c ({KEY}, n) "
        f"SELECT {KEY}, sum(d) FROM changes GROUP BY {KEY} HAVING sum(d) <> 0 ORDER BY {KEY} "
        f"ON CONFLICT ({KEY}) DO UPDATE SET n = c.n + excluded.n;"
    )


OLD = f"SELECT {GROUP}, -1 FROM old_rows"
NEW = f"SELECT {GROUP}, 1 FROM new_rows"
FUNCTION = f"""
CREATE FUNCTION petition_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_apply(NEW)}
    ELSIF TG_OP = 'UPDATE' THEN
        {_apply(OLD + " UNION ALL " + NEW)}
    ELSIF TG_OP = 'DELETE' THEN
        {_apply(OLD)}
    ELSE
        DELETE FROM petition_counts;
    END IF;
    RETURN NULL;
END
$$
"""
# PostgreSQL allows no column list (UPDATE OF ...) beside transition tables: every update
# fires, and _apply writes only the groups that changed.
TRIGGERS = {
    "petition_counts_ai": "AFTER INSERT ON petitions REFERENCING NEW TABLE AS new_rows",
    "petition_counts_au": "AFTER UPDATE ON petitions "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "petition_counts_ad": "AFTER DELETE ON petitions REFERENCING OLD TABLE AS old_rows",
    "petition_counts_at": "AFTER TRUNCATE ON petitions",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE petition_counts ("
        "office_id integer NOT NULL REFERENCES offices (id), "
        "received_month date NOT NULL, "
        "type varchar(20) NOT NULL, "
        "status varchar(20) NOT NULL, "
        "crowd boolean NOT NULL, "
        "n bigint NOT NULL, "
        f"PRIMARY KEY ({KEY}))"
    )
    op.execute(FUNCTION)
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT "
            "EXECUTE FUNCTION petition_counts_apply()"
        )
    # The petitions already registered; the table is locked meanwhile (SHARE: reads go on,
    # writes wait), so none is counted twice or missed.
    op.execute("LOCK TABLE petitions IN SHARE MODE")
    op.execute(
        f"INSERT INTO petition_counts ({KEY}, n) "
        f"SELECT {GROUP}, count(*) FROM petitions GROUP BY 1, 2, 3, 4, 5"
    )
    op.execute("ANALYZE petition_counts")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON petitions")
    op.execute("DROP FUNCTION IF EXISTS petition_counts_apply()")
    op.execute("DROP TABLE IF EXISTS petition_counts")
