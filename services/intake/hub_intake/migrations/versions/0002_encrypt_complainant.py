"""intake: complainants' personal data as AES-GCM ciphertexts, plus a keyed national-ID hash

Rows already stored are encrypted in place with the configured data keys (and decrypted back on
downgrade), so a development database keeps its complainants.

Revision ID: 0002
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import RowMapping

from hub_intake.models import PERSONAL_FIELDS, ciphertext_column, open_personal_data, seal_personal_data
from hub_intake.settings import IntakeSettings
from hub_shared.vault import PersonalDataVault

revision = "0002"
down_revision = "0001"

TABLE = "intake_complainant"
HASH_INDEX = "ix_intake_complainant_national_id_hash"
PLAIN_LENGTHS = {"full_name": 200, "national_id": 10, "phone": 20, "address": 500}
CIPHERTEXT_COLUMNS = [ciphertext_column(field) for field in PERSONAL_FIELDS]


def upgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        for column in CIPHERTEXT_COLUMNS:
            batch.add_column(sa.Column(column, sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("national_id_hash", sa.String(64), nullable=True))
    _rewrite_stored_rows(_sealed)
    with op.batch_alter_table(TABLE) as batch:
        for field in PERSONAL_FIELDS:
            batch.drop_column(field)
        for column in CIPHERTEXT_COLUMNS:
            batch.alter_column(column, existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("national_id_hash", existing_type=sa.String(64), nullable=False)
        batch.create_index(HASH_INDEX, ["national_id_hash"])


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        for field, length in PLAIN_LENGTHS.items():
            batch.add_column(sa.Column(field, sa.String(length), nullable=True))
    _rewrite_stored_rows(_opened)
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_index(HASH_INDEX)
        for column in [*CIPHERTEXT_COLUMNS, "national_id_hash"]:
            batch.drop_column(column)
        for field, length in PLAIN_LENGTHS.items():
            batch.alter_column(field, existing_type=sa.String(length), nullable=False)


def _complainants() -> sa.TableClause:
    return sa.table(
        TABLE,
        sa.column("case_id", sa.Uuid()),
        *(sa.column(field, sa.String()) for field in PERSONAL_FIELDS),
        *(sa.column(column, sa.LargeBinary()) for column in CIPHERTEXT_COLUMNS),
        sa.column("national_id_hash", sa.String()),
    )


def _rewrite_stored_rows(new_values: Callable[[PersonalDataVault, RowMapping], dict]) -> None:
    table, connection = _complainants(), op.get_bind()
    rows = connection.execute(sa.select(table)).mappings().all()
    if not rows:
        return  # a fresh database needs no keys
    vault = IntakeSettings().personal_data_vault
    for row in rows:
        connection.execute(table.update().where(table.c.case_id == row["case_id"]).values(**new_values(vault, row)))


def _sealed(vault: PersonalDataVault, row: RowMapping) -> dict:
    return {**seal_personal_data(vault, row["case_id"], row), "national_id_hash": vault.lookup_hash(row["national_id"])}


def _opened(vault: PersonalDataVault, row: RowMapping) -> dict:
    return open_personal_data(vault, row["case_id"], row)
