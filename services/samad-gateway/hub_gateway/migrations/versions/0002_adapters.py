"""gateway: external references and the outbound delivery queue

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "gateway_external_ref",
        sa.Column("remote", sa.String(32), primary_key=True),
        sa.Column("external_id", sa.String(100), primary_key=True),
        sa.Column("case_id", sa.Uuid(), nullable=True, index=True),
        sa.Column("tracking_code", sa.String(16), nullable=True),
        sa.Column("last_status", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "gateway_delivery",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("update_id", sa.String(64), nullable=False, unique=True),
        sa.Column("remote", sa.String(32), nullable=False, index=True),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.UniqueConstraint("remote", "external_id", "sequence", name="uq_gateway_delivery_sequence"),
    )


def downgrade() -> None:
    op.drop_table("gateway_delivery")
    op.drop_table("gateway_external_ref")
