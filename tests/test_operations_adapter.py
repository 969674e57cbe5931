"""The shape of the generated operations that ``ionworks/_operations.py`` relies on.

``_get_kwargs`` and ``_build_response`` are private to openapi-python-client. We use them (see the
adapter's docstring for why), so every module of ``ionworks_generated.api`` is checked here: a
regeneration or generator upgrade that changes their shape fails this test rather than a user's
call. And no module of ours but the adapter may name them.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
import types
from pathlib import Path
from types import ModuleType
from typing import Any, Union, get_args, get_origin

import httpx
import ionworks_generated.api
import pytest
from ionworks_generated import Client
from ionworks_generated.types import Unset

from ionworks._operations import path_parameter_names, request_of, response_of

ROOT = Path(__file__).resolve().parents[1]
PRIVATE_NAMES = ("_get_kwargs", "_build_response")


def _operations() -> list[ModuleType]:
    modules = []
    for info in pkgutil.walk_packages(ionworks_generated.api.__path__, "ionworks_generated.api."):
        module = importlib.import_module(info.name)
        if not info.ispkg:
            modules.append(module)
    return modules


OPERATIONS = _operations()


def test_the_walk_finds_every_operation_we_call() -> None:
    names = {module.__name__.rsplit(".", 1)[1] for module in OPERATIONS}
    assert {"list_cell_specifications", "get_cell_measurement", "health_check"} <= names
    assert len(OPERATIONS) >= 25


class _Body:
    """A request body: the generated code only calls ``to_dict()`` (JSON) or reads ``payload``."""

    payload = b"parquet bytes"

    def to_dict(self) -> dict[str, Any]:
        return {"name": "x"}


def _sample(annotation: Any) -> Any:
    """A value of a required parameter's type, enough for ``_get_kwargs`` to encode."""
    if get_origin(annotation) in (Union, types.UnionType):
        choices = [a for a in get_args(annotation) if a not in (Unset, type(None))]
        return _sample(choices[0])
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation))
    samples = {str: "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", int: 1, float: 1.0, bool: True}
    return samples.get(annotation, _Body())


def _call_arguments(operation: ModuleType) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for every required parameter of the operation."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in inspect.signature(operation._get_kwargs).parameters.values():
        if parameter.default is not inspect.Parameter.empty:
            continue
        value = _sample(parameter.annotation)
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = value
        else:
            args.append(value)
    return args, kwargs


def _id(module: ModuleType) -> str:
    return module.__name__.removeprefix("ionworks_generated.api.")


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_each_operation_has_the_functions_the_adapter_uses(operation: ModuleType) -> None:
    for name in (*PRIVATE_NAMES, "sync_detailed"):
        assert callable(getattr(operation, name, None)), f"{_id(operation)} has no {name}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_get_kwargs_takes_what_sync_detailed_takes_minus_the_client(operation: ModuleType) -> None:
    def shape(function: Any) -> list[tuple[str, Any, Any, Any]]:
        parameters = inspect.signature(function).parameters.values()
        return [(p.name, p.kind, p.default, p.annotation) for p in parameters if p.name != "client"]

    assert shape(operation._get_kwargs) == shape(operation.sync_detailed)
    assert "client" in inspect.signature(operation.sync_detailed).parameters
    # Path parameters are positional, everything else keyword-only (our _call relies on it).
    positional = path_parameter_names(operation)
    assert all(f"{{{name}}}" in inspect.getsource(operation._get_kwargs) for name in positional)


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_our_per_call_timeout_keyword_is_no_operation_parameter(operation: ModuleType) -> None:
    assert "timeout" not in inspect.signature(operation._get_kwargs).parameters


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_get_kwargs_returns_httpx_request_keywords(operation: ModuleType) -> None:
    args, kwargs = _call_arguments(operation)
    request = request_of(operation, *args, **kwargs)
    assert isinstance(request, dict)
    assert {"method", "url"} <= set(request)
    accepted = set(inspect.signature(httpx.Client.request).parameters) - {"self"}
    assert set(request) <= accepted, set(request) - accepted
    with httpx.Client(base_url="http://127.0.0.1:9") as client:
        built = client.build_request(**request)
    assert built.method == str(request["method"]).upper()
    for value in args:  # every path parameter reaches the path
        expected = value.value if isinstance(value, enum.Enum) else value
        assert str(expected) in built.url.path


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_build_response_takes_the_client_and_the_response(operation: ModuleType) -> None:
    parameters = inspect.signature(operation._build_response).parameters
    assert list(parameters) == ["client", "response"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    answer = httpx.Response(418, content=b"", request=httpx.Request("GET", "http://x/"))
    decoded = response_of(operation, Client(base_url="http://x"), answer)
    assert decoded.status_code == 418
    assert decoded.parsed is None  # a status the spec does not list is not parsed


def test_no_module_of_ours_but_the_adapter_names_the_generator_internals() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "ionworks").rglob("*.py")
        if path.name != "_operations.py" or path.parent != ROOT / "ionworks"
        for name in PRIVATE_NAMES
        if name in path.read_text()
    ]
    assert offenders == []
