"""routing: an outbox row the broker refuses for good is parked (`parked_at`, `last_error`) instead of
blocking every row after it; see hub_shared.outbox

Revision ID: 0004
"""

from hub_shared.migrations import add_outbox_parking, drop_outbox_parking

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    add_outbox_parking()


def downgrade() -> None:
    drop_outbox_parking()
