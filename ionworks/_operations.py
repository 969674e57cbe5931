"""The one adapter between our client and the operations generated from ``openapi.yaml``.

Every module of ``ionworks_generated.api`` has the same shape (openapi-python-client output):
``_get_kwargs(*path_ids, **query_or_body)`` builds the ``httpx.Client.request`` keywords (method,
URL with percent-encoded ids, params, JSON body) and ``_build_response(client=, response=)``
decodes an answer into attrs models. Both are private to the generator, so this module is the
only place of ours that names them; ``tests/test_operations_adapter.py`` walks every generated
module and fails when that shape changes, and fails if any other module of ``ionworks/`` uses
them.

Why not the public ``sync_detailed``: we send requests ourselves (through our retrying,
deadline-bounded httpx client, with a per-call timeout) and decode list pages straight from JSON
into our resource objects. Building the generated attrs models for a page and converting them
back to dicts tripled the client-side cost of a 1,000-item page (13.8 ms against 2.7 ms for
``json.loads``), so requests are encoded by the generator and only non-list answers are decoded
by it.
"""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from ionworks_generated import Client as GeneratedClient
    from ionworks_generated.types import Response


def request_of(operation: ModuleType, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The ``httpx.Client.request`` keywords of one call of ``operation`` (method, url, ...).

    Positional arguments are the operation's path parameters (ids), keywords its query
    parameters or ``body``, exactly as ``sync_detailed`` takes them minus ``client``.
    """
    request: dict[str, Any] = operation._get_kwargs(*args, **kwargs)
    return request


def response_of(
    operation: ModuleType, api: GeneratedClient, response: httpx.Response
) -> Response[Any]:
    """Decode ``response`` with ``operation``'s generated parser (attrs models in ``.parsed``)."""
    decoded: Response[Any] = operation._build_response(client=api, response=response)
    return decoded


def path_parameter_names(operation: ModuleType) -> list[str]:
    """Names of ``operation``'s positional parameters: its path parameters, in order."""
    parameters = inspect.signature(operation._get_kwargs).parameters.values()
    return [p.name for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
