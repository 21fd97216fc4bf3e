"""routing: a unit's English name (optional; the citizen's portal shows the Persian name where there is none).
The units the seed put in the table and nobody renamed since take their shipped English names, and the tree's
revision moves on, so every replica reloads its tree with them.

Revision ID: 0007
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

UNITS = sa.table("routing_org_unit", sa.column("id", sa.String), sa.column("name_fa", sa.String), sa.column("name_en", sa.String))
TREE = sa.table("routing_org_tree", sa.column("id", sa.Integer), sa.column("revision", sa.Integer),
                sa.column("changed_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    from hub_routing.tree import seed_tree  # the shipped units, as routing seeds them

    op.add_column("routing_org_unit", sa.Column("name_en", sa.String(300), nullable=True))
    bind = op.get_bind()
    named = 0
    for unit in seed_tree():
        if unit.name_en:
            named += bind.execute(UNITS.update().where(UNITS.c.id == unit.id, UNITS.c.name_fa == unit.name_fa, UNITS.c.name_en.is_(None))
                                  .values(name_en=unit.name_en)).rowcount
    if named:
        bind.execute(TREE.update().where(TREE.c.id == 1).values(revision=TREE.c.revision + 1, changed_at=datetime.now(UTC)))


def downgrade() -> None:
    with op.batch_alter_table("routing_org_unit") as batch:
        batch.drop_column("name_en")
