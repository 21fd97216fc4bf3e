"""reporting: case facts, change feed, satisfaction aggregates, trace ids on the history

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

ASPECTS = ("respect", "speed", "quality", "conduct")


def _sums() -> list[sa.Column]:
    columns = [sa.Column("ratings", sa.Integer(), nullable=False), sa.Column("score_sum", sa.Integer(), nullable=False)]
    for aspect in ASPECTS:
        columns += [sa.Column(f"{aspect}_n", sa.Integer(), nullable=False), sa.Column(f"{aspect}_sum", sa.Integer(), nullable=False)]
    return columns


def upgrade() -> None:
    op.add_column("reporting_case_history", sa.Column("source", sa.String(200), nullable=False, server_default=""))
    op.add_column("reporting_case_history", sa.Column("trace_id", sa.String(32), nullable=True))
    op.create_table(
        "reporting_case_fact",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("tracking_code", sa.String(16), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("province", sa.String(64), nullable=False),
        sa.Column("county", sa.String(64), nullable=True),
        sa.Column("unit_id", sa.String(200), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("about_employee", sa.String(64), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("transfer_count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "reporting_status_change",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("tracking_code", sa.String(16), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table("reporting_feed_counter", sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("last_seq", sa.BigInteger(), nullable=False))
    op.execute("INSERT INTO reporting_feed_counter (id, last_seq) VALUES (1, 0)")
    op.create_table("reporting_rating_unit_day", sa.Column("unit_id", sa.String(200), primary_key=True),
                    sa.Column("day", sa.Date(), primary_key=True), *_sums())
    op.create_table("reporting_rating_employee_day", sa.Column("unit_id", sa.String(200), primary_key=True),
                    sa.Column("employee_id", sa.String(64), primary_key=True), sa.Column("day", sa.Date(), primary_key=True), *_sums())
    # drill-down reads a subtree (unit_id prefix) over a day range: text_pattern_ops lets LIKE 'x/%' use the index on
    # PostgreSQL, and INCLUDE of the sums makes it an index-only scan (bench/ratings.py: p95 98 ms -> 68 ms)
    if op.get_bind().dialect.name == "postgresql":
        sums = ", ".join(column.name for column in _sums())
        for table in ("reporting_rating_unit_day", "reporting_rating_employee_day"):
            op.execute(f"CREATE INDEX {table}_prefix ON {table} (unit_id text_pattern_ops, day) INCLUDE ({sums})")


def downgrade() -> None:
    for table in ("reporting_rating_employee_day", "reporting_rating_unit_day", "reporting_feed_counter",
                  "reporting_status_change", "reporting_case_fact"):
        op.drop_table(table)
    op.drop_column("reporting_case_history", "trace_id")
    op.drop_column("reporting_case_history", "source")
