"""The schema of the last release without migrations (``schema_info`` version 1), exactly.

Data dirs of that release are stamped with this revision, not run through it.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("default_project_id", sa.String(length=64), nullable=False),
        sa.Column("max_measurements", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "pipelines",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_by_email", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_pipelines_org_created", "pipelines", ["organization_id", "created_at"], unique=False
    )

    op.create_table(
        "schema_info",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "projects",
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organization_id", "id"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "email", name="uq_users_org_email"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "cell_specifications",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("form_factor", sa.String(length=255), nullable=True),
        sa.Column("manufacturer", sa.String(length=255), nullable=True),
        sa.Column("chemistry", sa.String(length=255), nullable=True),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_by_email", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "project_id"],
            ["projects.organization_id", "projects.id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "project_id", "name", name="uq_specs_project_name"),
    )
    op.create_index(
        "ix_specs_org_created",
        "cell_specifications",
        ["organization_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_specs_org_email",
        "cell_specifications",
        ["organization_id", "created_by_email"],
        unique=False,
    )
    op.create_index(
        "ix_specs_org_form_factor",
        "cell_specifications",
        ["organization_id", "form_factor"],
        unique=False,
    )
    op.create_index(
        "ix_specs_org_name", "cell_specifications", ["organization_id", "name", "id"], unique=False
    )
    op.create_index(
        "ix_specs_org_updated",
        "cell_specifications",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )

    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("cell_specification_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cell_specification_id"], ["cell_specifications.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cell_specification_id", "name", name="uq_batches_spec_name"),
    )
    op.create_table(
        "cell_instances",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("cell_specification_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_by_email", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["cell_specification_id"], ["cell_specifications.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cell_specification_id", "name", name="uq_instances_spec_name"),
    )
    op.create_index("ix_instances_batch", "cell_instances", ["batch_id"], unique=False)
    op.create_index(
        "ix_instances_spec_created",
        "cell_instances",
        ["cell_specification_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_instances_spec_updated",
        "cell_instances",
        ["cell_specification_id", "updated_at", "id"],
        unique=False,
    )

    op.create_table(
        "cell_measurements",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("cell_instance_id", sa.String(length=64), nullable=False),
        sa.Column("specification_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("measurement_type", sa.String(length=32), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=True),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("protocol", sa.JSON(), nullable=True),
        sa.Column("test_setup", sa.JSON(), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("filenames", sa.JSON(), nullable=False),
        sa.Column("processing_status", sa.String(length=16), nullable=True),
        sa.Column("processing_error", sa.Text(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_by_email", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["cell_instance_id"], ["cell_instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cell_instance_id", "name", name="uq_measurements_instance_name"),
    )
    op.create_index(
        "ix_measurements_instance_created",
        "cell_measurements",
        ["cell_instance_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_measurements_instance_start",
        "cell_measurements",
        ["cell_instance_id", "start_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_measurements_instance_updated",
        "cell_measurements",
        ["cell_instance_id", "updated_at", "id"],
        unique=False,
    )
    op.create_index("ix_measurements_org", "cell_measurements", ["organization_id"], unique=False)
    op.create_index(
        "ix_measurements_status", "cell_measurements", ["processing_status"], unique=False
    )

    op.create_table(
        "upload_reservations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("cell_instance_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("measurement_type", sa.String(length=32), nullable=False),
        sa.Column("filenames", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["cell_instance_id"], ["cell_instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reservations_expires", "upload_reservations", ["expires_at"], unique=False)

    op.create_table(
        "measurement_tags",
        sa.Column("measurement_id", sa.String(length=64), nullable=False),
        sa.Column("tag_key", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["measurement_id"], ["cell_measurements.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("measurement_id", "tag_key"),
    )
    op.create_index(
        "ix_measurement_tags_key", "measurement_tags", ["tag_key", "measurement_id"], unique=False
    )

    op.execute(sa.text("INSERT INTO schema_info (key, value) VALUES ('schema_version', '1')"))


def downgrade() -> None:
    op.drop_index("ix_measurement_tags_key", table_name="measurement_tags")

    op.drop_table("measurement_tags")
    op.drop_index("ix_reservations_expires", table_name="upload_reservations")

    op.drop_table("upload_reservations")
    op.drop_index("ix_measurements_status", table_name="cell_measurements")
    op.drop_index("ix_measurements_org", table_name="cell_measurements")
    op.drop_index("ix_measurements_instance_updated", table_name="cell_measurements")
    op.drop_index("ix_measurements_instance_start", table_name="cell_measurements")
    op.drop_index("ix_measurements_instance_created", table_name="cell_measurements")

    op.drop_table("cell_measurements")
    op.drop_index("ix_instances_spec_updated", table_name="cell_instances")
    op.drop_index("ix_instances_spec_created", table_name="cell_instances")
    op.drop_index("ix_instances_batch", table_name="cell_instances")

    op.drop_table("cell_instances")
    op.drop_table("batches")
    op.drop_index("ix_specs_org_updated", table_name="cell_specifications")
    op.drop_index("ix_specs_org_name", table_name="cell_specifications")
    op.drop_index("ix_specs_org_form_factor", table_name="cell_specifications")
    op.drop_index("ix_specs_org_email", table_name="cell_specifications")
    op.drop_index("ix_specs_org_created", table_name="cell_specifications")

    op.drop_table("cell_specifications")
    op.drop_table("api_keys")
    op.drop_table("users")
    op.drop_table("projects")
    op.drop_table("schema_info")
    op.drop_index("ix_pipelines_org_created", table_name="pipelines")

    op.drop_table("pipelines")
    op.drop_table("organizations")
