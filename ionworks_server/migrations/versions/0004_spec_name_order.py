"""An index for ``name=eq.<x>`` in the default order: (organization, name, created_at, id).

Without it SQLite (no statistics) serves ``WHERE organization_id = ? AND name = ? ORDER BY
created_at, id LIMIT n`` by walking the organization's created_at index to skip the sort, and
checks every row's name: ~300 ms at 1,000,000 specifications for one row. With it, the filter
and the order are one index range. PostgreSQL chose the (organization, name) index and sorted
the few matches already; it gets the same index so both databases have one schema.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEX = "ix_specs_org_name_created"


def upgrade() -> None:
    op.create_index(INDEX, "cell_specifications", ["organization_id", "name", "created_at", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="cell_specifications")
