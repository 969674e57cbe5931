"""``client.pipeline``: submit modelling pipelines and follow them to completion.

``run`` and ``wait`` already use ``timeout`` for how long to wait for the pipeline, so the bound
on each request is ``request_timeout`` there; ``get`` takes ``timeout`` like every other method.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _polling
from .._pipeline_config import prepare_config
from ..errors import IonworksError
from ..models import Pipeline
from ._base import ResourceAPI


class Pipelines(ResourceAPI):
    """Submit pipelines (``run``) and read their status (``get``, ``wait``)."""

    def run(
        self,
        config: Mapping[str, Any],
        *,
        project_id: str | None = None,
        name: str | None = None,
        description: str | None = None,
        options: Mapping[str, Any] | None = None,
        wait: bool = False,
        timeout: float = 600.0,
        request_timeout: float | None = None,
    ) -> Pipeline:
        """Submit a pipeline config (``{"elements": {...}, ...}``).

        Inline measurement data (DataFrames, column dicts, local ``DataLoader``s, wherever they
        sit in the config) is limited to 1,000 rows: a larger series raises
        :class:`~ionworks.MeasurementValidationError` before anything is sent. Upload it with
        ``client.cell_measurement.create()`` and reference it as ``"db:<measurement_id>"``.
        With ``wait=True``, polls until the pipeline finished (for ``timeout`` seconds at most).
        """
        from ionworks_generated.api.pipelines import create_pipeline
        from ionworks_generated.models.pipeline_create import PipelineCreate

        payload = run_payload(
            config,
            project_id=project_id,
            default_project=self._client.project_id,
            name=name,
            description=description,
            options=options,
        )
        body = PipelineCreate.from_dict(payload)
        created = Pipeline(self._parsed(create_pipeline, body=body, timeout=request_timeout))
        if not wait:
            return created
        return self.wait(created.id, timeout=timeout, request_timeout=request_timeout)

    create = run

    def get(self, pipeline_id: str, *, timeout: float | None = None) -> Pipeline:
        """A pipeline's status, and its result once finished."""
        from ionworks_generated.api.pipelines import get_pipeline

        return Pipeline(self._parsed(get_pipeline, pipeline_id, timeout=timeout))

    def wait(
        self,
        pipeline_id: str,
        *,
        timeout: float = 600.0,
        poll: float = 1.0,
        request_timeout: float | None = None,
    ) -> Pipeline:
        """Poll every ``poll`` seconds until the pipeline is terminal (completed or failed)."""

        return _polling.poll(
            lambda: self.get(pipeline_id, timeout=request_timeout),
            is_terminal,
            timeout=timeout,
            backoff=_polling.Backoff(first=poll),
            on_timeout=lambda pipeline: still_running(pipeline_id, pipeline, timeout),
        )


def run_payload(
    config: Mapping[str, Any],
    *,
    project_id: str | None,
    default_project: str | None,
    name: str | None,
    description: str | None,
    options: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The body of ``run`` (both clients'): the config checked and prepared, explicit arguments
    winning over the config's own, and the client's project the last resort."""
    if not isinstance(config, Mapping):
        raise IonworksError(
            f"A pipeline config must be a dict with an 'elements' key, not {type(config).__name__}"
        )
    payload = dict(prepare_config(dict(config)))
    if "elements" not in payload:
        raise IonworksError("A pipeline config needs an 'elements' dict (name -> element)")
    explicit = {
        "project_id": project_id or payload.get("project_id") or default_project,
        "name": name or payload.get("name"),
        "description": description or payload.get("description"),
        "options": dict(prepare_config(dict(options))) if options else payload.get("options") or {},
    }
    payload.update({key: value for key, value in explicit.items() if value is not None})
    return payload


def is_terminal(pipeline: Pipeline) -> bool:
    return bool(pipeline.is_terminal)


def still_running(pipeline_id: str, pipeline: Pipeline, timeout: float) -> IonworksError:
    """The error of a wait for a pipeline that ran out of time."""
    return IonworksError(
        f"Pipeline {pipeline_id} was still {pipeline.status!r} after {timeout:.0f} s"
    )


__all__ = ["Pipelines"]
