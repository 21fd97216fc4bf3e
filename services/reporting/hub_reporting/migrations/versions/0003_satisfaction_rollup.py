"""reporting: satisfaction sums per unit and per employee per Jalali month, filled from the day rows

Revision ID: 0003
"""

from datetime import date

import jdatetime
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

ASPECTS = ("respect", "speed", "quality", "conduct")
SUMS = ("ratings", "score_sum", *(f"{a}_{part}" for a in ASPECTS for part in ("n", "sum")))
TABLES = {"reporting_rating_unit_month": ("reporting_rating_unit_day", ("unit_id",)),
          "reporting_rating_employee_month": ("reporting_rating_employee_day", ("unit_id", "employee_id"))}


def _sums() -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in SUMS]


def upgrade() -> None:
    op.create_table("reporting_rating_unit_month", sa.Column("unit_id", sa.String(200), primary_key=True),
                    sa.Column("month", sa.Date(), primary_key=True), *_sums())
    op.create_table("reporting_rating_employee_month", sa.Column("unit_id", sa.String(200), primary_key=True),
                    sa.Column("employee_id", sa.String(64), primary_key=True), sa.Column("month", sa.Date(), primary_key=True), *_sums())
    bind = op.get_bind()
    # fill from the day rows already projected: a map of each day present to its Jalali month's first day
    days = [row[0] for row in bind.execute(sa.text("SELECT DISTINCT day FROM reporting_rating_unit_day UNION "
                                                   "SELECT DISTINCT day FROM reporting_rating_employee_day"))]
    if days:
        month_map = op.create_table("reporting_rating_month_map", sa.Column("day", sa.Date(), primary_key=True),
                                    sa.Column("month", sa.Date(), nullable=False))
        op.bulk_insert(month_map, [{"day": day, "month": jdatetime.date.fromgregorian(date=_date(day)).replace(day=1).togregorian()}
                                   for day in days])
        for month_table, (day_table, keys) in TABLES.items():
            key = ", ".join(f"d.{k}" for k in keys)
            op.execute(f"INSERT INTO {month_table} ({', '.join(keys)}, month, {', '.join(SUMS)}) "
                       f"SELECT {key}, m.month, {', '.join(f'sum(d.{s})' for s in SUMS)} FROM {day_table} d "
                       f"JOIN reporting_rating_month_map m ON m.day = d.day GROUP BY {key}, m.month")
        op.drop_table("reporting_rating_month_map")
    # as for the day rows (0002): the subtree is a unit_id prefix, and the sums in the index make it index-only. The
    # day rows are now read only for the few days at the edges of a range, for any subtree up to the nation: an index
    # led by the day reads just those days (a national quarter: 33 ms -> 13 ms, bench/ratings.py p95 54 -> 40 ms)
    if bind.dialect.name == "postgresql":
        sums = ", ".join(SUMS)
        for month_table, (day_table, keys) in TABLES.items():
            op.execute(f"CREATE INDEX {month_table}_prefix ON {month_table} (unit_id text_pattern_ops, month) INCLUDE ({sums})")
            rest = "".join(f", {k}" for k in keys[1:])
            op.execute(f"CREATE INDEX {day_table}_by_day ON {day_table} (day, unit_id text_pattern_ops{rest}) INCLUDE ({sums})")


def _date(value) -> date:
    """SQLite hands a DATE back as text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for day_table, _ in TABLES.values():
            op.execute(f"DROP INDEX {day_table}_by_day")
    for table in TABLES:
        op.drop_table(table)
