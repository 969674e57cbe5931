"""The processing queue (``processing_jobs``, see ``ionworks_server/state.py``).

One row per measurement waiting to be processed, claimed with a lease by any worker process, so
``ionworks serve --workers N`` keeps no queue in one process's memory. Measurements that were
pending or running before this revision get their job at the next start
(``state.queue_missing_jobs``).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Development builds between the queue and this revision created the table themselves.
    if sa.inspect(op.get_bind()).has_table("processing_jobs"):
        return
    op.create_table(
        "processing_jobs",
        sa.Column("measurement_id", sa.String(36), primary_key=True),
        sa.Column("lane", sa.String(8), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(120)),
        sa.Column("lease_expires_at", sa.DateTime()),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_processing_jobs_lane_queued", "processing_jobs", ["lane", "queued_at"])


def downgrade() -> None:
    op.drop_index("ix_processing_jobs_lane_queued", table_name="processing_jobs")
    op.drop_table("processing_jobs")
