"""Alembic environment: always run from :func:`ionworks_server.migrations.upgrade` on a connection
that already holds the write lock (no ``alembic.ini``, no URL of its own)."""

from __future__ import annotations

from alembic import context

from ionworks_server.db import metadata


def run() -> None:
    """Run the pending revisions on the connection :func:`.upgrade` passed in."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


try:
    context.config  # noqa: B018 - set only while Alembic runs this file
except (
    AttributeError,
    NameError,
):  # imported as a plain module (the import-rule tests import every module)
    pass
else:
    run()
