"""Alembic glue every service's `migrations/env.py` calls, and the shared messaging tables."""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy import engine_from_config, pool


def run_env(target_metadata: sa.MetaData) -> None:
    config = context.config
    connectable = engine_from_config(config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # replicas and the migration job may start together: one migrates, the others wait
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(7200531)"))
            context.run_migrations()


def create_messaging_tables() -> None:
    """The outbox and inbox every service owns (see hub_shared.messaging)."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "id"])
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )


def create_consumer_hold_table() -> None:
    """The cases a consumer group holds back behind a dead-lettered event (see hub_shared.consumer)."""
    op.create_table(
        "consumer_hold",
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("first_event_id", sa.String(64), nullable=False),
        sa.Column("held_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
    )


_PENDING = sa.text("published_at IS NULL AND parked_at IS NULL")  # the relay's scan, in id order
_PARKED = sa.text("parked_at IS NOT NULL")  # the few parked rows: held keys, `hub outbox parked`, readiness count


def add_outbox_parking() -> None:
    """An outbox row the broker refuses for good is parked (`parked_at`, `last_error`) instead of blocking
    every row after it (see hub_shared.outbox)."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(500), nullable=True))
    op.create_index("ix_outbox_pending", "outbox", ["id"], postgresql_where=_PENDING, sqlite_where=_PENDING)
    op.create_index("ix_outbox_parked", "outbox", ["topic", "key", "id"], postgresql_where=_PARKED, sqlite_where=_PARKED)


def drop_outbox_parking() -> None:
    """Parked rows become pending again: the older relay retries them."""
    op.drop_index("ix_outbox_parked", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("last_error")
        batch.drop_column("parked_at")


def add_outbox_broker_epoch_and_reconcile() -> None:
    """Each published row names the broker incarnation (cluster id) that took it, so the relay can publish again
    what a broker that lost its memory had (see hub_shared.bus)."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("broker_epoch", sa.String(64), nullable=True))
    op.create_table(  # what `hub reconcile` found and repaired (see hub_shared.reconcile)
        "reconcile_report",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_hours", sa.Float(), nullable=False),
        sa.Column("facts_checked", sa.Integer(), nullable=False),
        sa.Column("drifted_cases", sa.Integer(), nullable=False),
        sa.Column("repaired", sa.Integer(), nullable=False),
        sa.Column("needs_rebuild", sa.Integer(), nullable=False),
        sa.Column("cases", sa.JSON(), nullable=False),
    )


def drop_outbox_broker_epoch_and_reconcile() -> None:
    op.drop_table("reconcile_report")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("broker_epoch")
