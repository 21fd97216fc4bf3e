"""intake: cases from other systems (source and their own reference, registered once), staff-entered
cases, anonymous reports, group and legal-person complainants, links between duplicates, an optional
e-mail, and attachments with a content hash

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

CASE_COLUMNS = [
    sa.Column("source_system", sa.String(64), nullable=True),
    sa.Column("external_ref", sa.String(128), nullable=True),
    sa.Column("anonymous", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("complainant_type", sa.String(16), nullable=False, server_default="natural"),
    sa.Column("organisation_name", sa.String(300), nullable=True),
    sa.Column("entered_by", sa.String(128), nullable=True),
    sa.Column("linked_to", sa.Uuid(), nullable=True),
    sa.Column("access_code_hash", sa.String(64), nullable=True),
]


def upgrade() -> None:
    with op.batch_alter_table("intake_case") as batch:
        for column in CASE_COLUMNS:
            batch.add_column(column)
        batch.create_unique_constraint("uq_intake_case_source_ref", ["source_system", "external_ref"])
    with op.batch_alter_table("intake_complainant") as batch:
        batch.add_column(sa.Column("email_ciphertext", sa.LargeBinary(), nullable=True))
    op.create_table(
        "intake_attachment",
        sa.Column("attachment_id", sa.Uuid(), primary_key=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(128), nullable=True),
        sa.UniqueConstraint("case_id", "sha256", name="uq_intake_attachment_case_content"),
    )


def downgrade() -> None:
    op.drop_table("intake_attachment")
    with op.batch_alter_table("intake_complainant") as batch:
        batch.drop_column("email_ciphertext")
    with op.batch_alter_table("intake_case") as batch:
        batch.drop_constraint("uq_intake_case_source_ref", type_="unique")
        for column in reversed(CASE_COLUMNS):
            batch.drop_column(column.name)
