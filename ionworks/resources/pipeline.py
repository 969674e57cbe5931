"""``client.pipeline``: submit modelling pipelines and follow them to completion."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

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
    ) -> Pipeline:
        """Submit a pipeline config (``{"elements": {...}, ...}``).

        Inline measurement data (DataFrames, column dicts, local ``DataLoader``s, wherever they
        sit in the config) is limited to 1,000 rows: a larger series raises
        :class:`~ionworks.MeasurementValidationError` before anything is sent. Upload it with
        ``client.cell_measurement.create()`` and reference it as ``"db:<measurement_id>"``.
        With ``wait=True``, polls until the pipeline finished.
        """
        from ionworks_generated.api.pipelines import create_pipeline
        from ionworks_generated.models.pipeline_create import PipelineCreate

        if not isinstance(config, Mapping):
            raise IonworksError(
                f"A pipeline config must be a dict with an 'elements' key, not {type(config).__name__}"
            )
        payload = dict(prepare_config(dict(config)))
        if "elements" not in payload:
            raise IonworksError("A pipeline config needs an 'elements' dict (name -> element)")
        explicit = {
            "project_id": project_id or payload.get("project_id") or self._client.project_id,
            "name": name or payload.get("name"),
            "description": description or payload.get("description"),
            "options": dict(prepare_config(dict(options)))
            if options
            else payload.get("options") or {},
        }
        payload.update({key: value for key, value in explicit.items() if value is not None})
        created = Pipeline(self._parsed(create_pipeline, body=PipelineCreate.from_dict(payload)))
        return self.wait(created.id, timeout=timeout) if wait else created

    create = run

    def get(self, pipeline_id: str) -> Pipeline:
        """A pipeline's status, and its result once finished."""
        from ionworks_generated.api.pipelines import get_pipeline

        return Pipeline(self._parsed(get_pipeline, pipeline_id))

    def wait(self, pipeline_id: str, *, timeout: float = 600.0, poll: float = 1.0) -> Pipeline:
        """Poll until the pipeline is terminal (completed or failed) and return it."""
        deadline = time.monotonic() + timeout
        while True:
            pipeline = self.get(pipeline_id)
            if pipeline.is_terminal:
                return pipeline
            if time.monotonic() + poll > deadline:
                raise IonworksError(
                    f"Pipeline {pipeline_id} was still {pipeline.status!r} after {timeout:.0f} s"
                )
            time.sleep(poll)


__all__ = ["Pipelines"]
