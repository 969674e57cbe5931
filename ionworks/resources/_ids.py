"""Ids in request paths: refuse empty ones, keep them one path segment, and explain a 404 for a
value that is a name rather than an id.

The generated operations already percent-encode each path parameter (``quote(value, safe="")``),
so a ``/`` or a space in an id never splits the path. Two gaps remain, closed here: an id of
``.`` or ``..`` survives ``quote`` unchanged and httpx then removes it as a dot segment (``get("..")``
requested ``/``), and an empty id turns ``/cell_specifications/{id}`` into the list route.
"""

from __future__ import annotations

import re
import shlex
from types import ModuleType
from typing import Any

from .._operations import path_parameter_names
from ..errors import InvalidParameterError, NotFoundError

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DOT_SEGMENTS = {".": "%2E", "..": "%2E%2E"}

# Path parameter name -> (what it names, how to find it by name in Python, and in the CLI).
_LOOKUP_BY_NAME = {
    "cell_specification_id": (
        "cell specification",
        "client.cell_spec.list(name_exact={name!r})",
        "ionworks specs list --name-exact {name}",
    ),
    "cell_instance_id": (
        "cell instance",
        "client.cell_instance.list(<cell_spec_id>, name_exact={name!r})",
        "ionworks instances list SPEC_ID --name-exact {name}",
    ),
    "cell_measurement_id": (
        "measurement",
        "client.cell_measurement.list(<cell_instance_id>, name_exact={name!r})",
        "ionworks measurements list INSTANCE_ID --name-exact {name}",
    ),
}


def path_parameters(operation: ModuleType, args: tuple[Any, ...]) -> dict[str, Any]:
    """Name each positional argument of a generated operation (they are its path parameters)."""
    return dict(zip(path_parameter_names(operation), args, strict=False))


def check_path_parameters(params: dict[str, Any]) -> None:
    """An empty or missing id would change which route the request reaches: refuse it."""
    for name, value in params.items():
        if value is None or not str(value).strip():
            raise InvalidParameterError(
                f"{name}={value!r}: an id must be a non-empty string (for example the .id of an "
                "object returned by a list() call)"
            )


def keep_dot_segments(path: str) -> str:
    """Encode ``.``/``..`` segments so httpx does not resolve them away (the spec's own path
    templates have none, so every such segment is a parameter value)."""
    return "/".join(_DOT_SEGMENTS.get(segment, segment) for segment in path.split("/"))


def looks_like_a_name(value: Any) -> bool:
    """True for values that are not shaped like the API's ids (UUIDs): names, typos, paths."""
    return isinstance(value, str) and _UUID.fullmatch(value.strip()) is None


def name_hint(param: str, value: str, *, cli: bool = False) -> str:
    """How to find the id of the resource named ``value`` (Python, or the ``ionworks`` command)."""
    kind, python, command = _LOOKUP_BY_NAME[param]
    lookup = command.format(name=shlex.quote(value)) if cli else python.format(name=value)
    return f"{value!r} is not shaped like a {kind} id; if it is a name, find the id with {lookup}"


def add_name_hint(error: NotFoundError, params: dict[str, Any]) -> None:
    """Append to a 404 how to look the resource up by name, when an id looks like a name."""
    for param, value in params.items():
        if param in _LOOKUP_BY_NAME and looks_like_a_name(value):
            error.unhinted_message = error.message
            error.name_lookup = (param, value)
            error.message = f"{error.message} ({name_hint(param, value)} and use its .id)"
            error.args = (error.message,)
            return
