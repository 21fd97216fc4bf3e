"""gateway: an outbox row the broker refuses for good is parked (`parked_at`, `last_error`) instead of
blocking every row after it; see hub_shared.outbox

Revision ID: 0003
"""

from hub_shared.migrations import add_outbox_parking, drop_outbox_parking

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    add_outbox_parking()


def downgrade() -> None:
    drop_outbox_parking()
