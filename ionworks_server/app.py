"""The Starlette application: one route per operation in ``openapi.yaml``, nothing else.

:func:`create_app` wires settings, database, storage and the processing worker together.
:data:`OPERATIONS` is the routing table, kept next to the spec's operation ids so a test can
prove the two match (no declared operation missing, no undeclared public route).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from . import __version__, measurements, pipelines, projects, resources, tags, uploads
from .auth import authenticate
from .bodies import read_json_body
from .config import Settings
from .context import AppContext, Call
from .db import create_db_engine, init_schema
from .errors import ApiError, CatchAllMiddleware, api_error_handler, http_exception_handler
from .filters import check_query_values
from .jsonio import json_response
from .polars_threads import resolve_lazy_numpy
from .request_id import RequestIdMiddleware
from .schema import BodySchemas, body_schemas
from .state import WORKER_PROCESS_ENV
from .storage import load_or_create_secret
from .storage_routes import storage_get, storage_put
from .storage_s3 import open_storage
from .viewer import LOCAL_OPERATIONS, ViewerAssets
from .worker import Worker

__all__ = ["OPERATIONS", "Operation", "build_context", "create_app"]

Handler = Callable[[Call], Response]
"""A synchronous API handler; :func:`api_route` authenticates and runs it off the event loop."""
Endpoint = Callable[[Request], Awaitable[Response]]
"""An ASGI-level endpoint (health and storage do their own checks)."""


@dataclass(frozen=True)
class Operation:
    """One operation of openapi.yaml and the handler that implements it."""

    operation_id: str
    method: str
    path: str
    handler: Handler | None = None
    body: bool = False
    raw: Endpoint | None = None


def api_route(op: Operation, schemas: BodySchemas) -> Endpoint:
    """Wrap a synchronous handler: authenticate, check the query, read and validate the body
    against the operation's schema in openapi.yaml, then run the handler in a worker thread."""
    handler = op.handler
    assert handler is not None

    def unbodied(request: Request) -> Response:
        """Without a body, the key check and the handler share one worker-thread hop (each
        hop costs about as much CPU as the key check itself)."""
        ctx: AppContext = request.app.state.ctx
        caller = authenticate(ctx.engine, request.headers)
        check_query_values(request.query_params)
        return handler(Call(ctx, caller, request, {}))

    async def endpoint(request: Request) -> Response:
        if not op.body:
            return await run_in_threadpool(unbodied, request)
        ctx: AppContext = request.app.state.ctx
        caller = await run_in_threadpool(authenticate, ctx.engine, request.headers)
        check_query_values(request.query_params)
        data = await read_json_body(request, ctx.settings.max_json_body_bytes)
        schemas.validate(op.operation_id, data)
        return await run_in_threadpool(handler, Call(ctx, caller, request, data))

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


async def health(request: Request) -> Response:
    """``GET /healthz``: 200 once the app is serving (the demo, if any, is loaded before that)."""
    return json_response({"status": "ok", "version": __version__})


def current_user(call: Call) -> Response:
    """``GET /users/me``: the key's user and organization."""
    caller = call.caller
    organization = {"id": caller.organization_id, "name": caller.organization_name}
    return json_response(
        {
            "id": caller.user_id,
            "email": caller.email,
            "authorized_organization": organization,
            "organizations": [organization],
            "default_project_id": caller.default_project_id,
        }
    )


OPERATIONS: tuple[Operation, ...] = (
    Operation("health_check", "GET", "/healthz", raw=health),
    Operation("get_current_user", "GET", "/users/me", current_user),
    Operation("list_cell_specifications", "GET", "/cell_specifications", resources.list_specs),
    Operation(
        "create_cell_specification",
        "POST",
        "/cell_specifications",
        resources.create_spec,
        body=True,
    ),
    Operation(
        "get_cell_specification",
        "GET",
        "/cell_specifications/{cell_specification_id}",
        resources.get_spec,
    ),
    Operation(
        "update_cell_specification",
        "PATCH",
        "/cell_specifications/{cell_specification_id}",
        resources.update_spec,
        body=True,
    ),
    Operation(
        "delete_cell_specification",
        "DELETE",
        "/cell_specifications/{cell_specification_id}",
        resources.delete_spec,
    ),
    Operation(
        "list_cell_instances",
        "GET",
        "/cell_specifications/{cell_specification_id}/cell_instances",
        resources.list_instances,
    ),
    Operation(
        "create_cell_instance",
        "POST",
        "/cell_specifications/{cell_specification_id}/cell_instances",
        resources.create_instance,
        body=True,
    ),
    Operation(
        "get_cell_instance", "GET", "/cell_instances/{cell_instance_id}", resources.get_instance
    ),
    Operation(
        "update_cell_instance",
        "PATCH",
        "/cell_instances/{cell_instance_id}",
        resources.update_instance,
        body=True,
    ),
    Operation(
        "delete_cell_instance",
        "DELETE",
        "/cell_instances/{cell_instance_id}",
        resources.delete_instance,
    ),
    Operation(
        "list_cell_measurements",
        "GET",
        "/cell_instances/{cell_instance_id}/cell_measurements",
        measurements.list_measurements,
    ),
    Operation(
        "initiate_upload",
        "POST",
        "/cell_instances/{cell_instance_id}/cell_measurements/initiate-upload",
        uploads.initiate_upload,
        body=True,
    ),
    Operation(
        "create_properties_measurement",
        "POST",
        "/cell_instances/{cell_instance_id}/cell_measurements/create",
        uploads.create_properties_measurement,
        body=True,
    ),
    # Before /cell_measurements/{cell_measurement_id}: "tags" must not be taken for an id.
    Operation(
        "list_project_cell_measurements",
        "GET",
        "/cell_measurements",
        projects.list_project_measurements,
    ),
    Operation("list_measurement_tags", "GET", "/cell_measurements/tags", tags.list_tags),
    Operation(
        "bulk_update_measurement_tags",
        "POST",
        "/cell_measurements/tags/bulk",
        tags.bulk_update_tags,
        body=True,
    ),
    Operation(
        "get_cell_measurement",
        "GET",
        "/cell_measurements/{cell_measurement_id}",
        measurements.get_measurement,
    ),
    Operation(
        "update_cell_measurement",
        "PATCH",
        "/cell_measurements/{cell_measurement_id}",
        measurements.update_measurement,
        body=True,
    ),
    Operation(
        "delete_cell_measurement",
        "DELETE",
        "/cell_measurements/{cell_measurement_id}",
        measurements.delete_measurement,
    ),
    Operation(
        "confirm_upload",
        "POST",
        "/cell_measurements/{cell_measurement_id}/confirm-upload",
        uploads.confirm_upload,
        body=True,
    ),
    Operation(
        "download_time_series",
        "GET",
        "/cell_measurements/{cell_measurement_id}/time_series/download",
        measurements.download_time_series,
    ),
    Operation(
        "download_steps",
        "GET",
        "/cell_measurements/{cell_measurement_id}/steps/download",
        measurements.download_steps,
    ),
    Operation(
        "get_cycles",
        "GET",
        "/cell_measurements/{cell_measurement_id}/cycles",
        measurements.get_cycles,
    ),
    Operation(
        "get_steps_and_cycles",
        "GET",
        "/cell_measurements/{cell_measurement_id}/steps_and_cycles",
        measurements.get_steps_and_cycles,
    ),
    Operation(
        "list_measurement_files",
        "GET",
        "/cell_measurements/{cell_measurement_id}/files",
        measurements.list_files,
    ),
    Operation(
        "download_measurement_file",
        "GET",
        "/cell_measurements/{cell_measurement_id}/files/{filename}",
        measurements.download_file,
    ),
    Operation(
        "storage_get_object", "GET", "/storage/{area}/{object_id}/{filename}", raw=storage_get
    ),
    Operation(
        "storage_put_object", "PUT", "/storage/{area}/{object_id}/{filename}", raw=storage_put
    ),
    Operation("create_pipeline", "POST", "/pipelines", pipelines.create_pipeline, body=True),
    Operation("get_pipeline", "GET", "/pipelines/{pipeline_id}", pipelines.get_pipeline),
    *(Operation(*local) for local in LOCAL_OPERATIONS),  # the viewer's routes (viewer.py)
)


class RawPathRoute(Route):
    """A route matched on the raw request path, one percent-decoded segment per parameter.

    Starlette matches the decoded ``scope["path"]``, where ``a%2Fb`` has become two segments; an
    id holding an encoded slash would then reach another route. Here the raw path is split on
    ``/`` first and each segment decoded afterwards, so ``%2F`` stays inside its parameter.
    """

    def __init__(self, path: str, endpoint: Endpoint, methods: list[str]) -> None:
        super().__init__(path, endpoint, methods=methods)
        self.segments = path.split("/")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw_path = scope.get("raw_path")
        if scope["type"] != "http" or raw_path is None:
            return super().matches(scope)
        segments = raw_path.decode("latin-1").split("/")
        if len(segments) != len(self.segments):
            return Match.NONE, {}
        params: dict[str, str] = {}
        for template, raw in zip(self.segments, segments, strict=True):
            value = unquote(raw, errors="replace")
            if template.startswith("{") and template.endswith("}"):
                if not value or "\x00" in value:  # no id holds NUL (PostgreSQL text cannot)
                    return Match.NONE, {}
                params[template[1:-1]] = value
            elif value != template:
                return Match.NONE, {}
        path_params = {**scope.get("path_params", {}), **params}
        child_scope = {"endpoint": self.endpoint, "path_params": path_params}
        if self.methods and scope["method"] not in self.methods:
            return Match.PARTIAL, child_scope
        return Match.FULL, child_scope


def _routes(schemas: BodySchemas) -> list[Route]:
    """One route per path, carrying every method the spec declares for it."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for op in OPERATIONS:
        endpoint = op.raw if op.raw is not None else api_route(op, schemas)
        by_path.setdefault(op.path, {})[op.method] = endpoint
    return [
        RawPathRoute(path, _dispatch(methods), methods=list(methods))
        for path, methods in by_path.items()
    ]


def _dispatch(methods: dict[str, Endpoint]) -> Endpoint:
    """Pick the endpoint for the request's method (HEAD is served by GET)."""

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await methods[method](request)

    return endpoint


def build_context(settings: Settings) -> AppContext:
    """Open (or create) the data dir: database schema, signing secret, storage, worker."""
    resolve_lazy_numpy()  # before the demo loader's pool, the worker or any request thread
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.database_url)
    init_schema(engine)
    storage = open_storage(settings.storage_root, load_or_create_secret(settings.secret_path))
    worker = Worker(engine, storage, settings.worker_threads, settings.processing_limits)
    return AppContext(settings, engine, storage, worker)


def create_app(settings: Settings, context: AppContext | None = None) -> Starlette:
    """The ASGI app. The worker starts with the app's lifespan and stops with it."""
    ctx = context or build_context(settings)
    schemas = body_schemas()  # compiled once, before the first request

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Under `serve --workers N` the supervisor swept the data dir before starting us.
        ctx.worker.start(startup_sweep=os.environ.get(WORKER_PROCESS_ENV) != "1")
        try:
            yield
        finally:
            ctx.worker.stop()

    app = Starlette(
        routes=_routes(schemas),
        # Outermost first: the request id is on every response, the catch-all's 500s included.
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(CatchAllMiddleware),
            Middleware(ViewerAssets),  # /viewer/: static files, not API routes
        ],
        exception_handlers={ApiError: api_error_handler, HTTPException: http_exception_handler},
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # /cell_specifications/ is not a route; no 307 to guess
    app.state.ctx = ctx
    return app
