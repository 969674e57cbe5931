"""Client behaviour that needs no server: configuration, resource objects, pages, layering."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import ionworks
from ionworks import CellSpecification, InvalidParameterError, Ionworks, PaginatedList

ROOT = Path(__file__).resolve().parent.parent


def test_missing_credentials_name_the_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IONWORKS_API_KEY", raising=False)
    monkeypatch.delenv("IONWORKS_API_TOKEN", raising=False)
    with pytest.raises(ValueError, match="IONWORKS_API_KEY"):
        Ionworks()


def test_the_key_never_appears_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Ionworks(api_key="super-secret-key", api_url="http://127.0.0.1:1/")
    assert "super-secret-key" not in repr(client)
    assert client.api_url == "http://127.0.0.1:1"


def test_a_token_from_the_environment_wins_over_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONWORKS_API_KEY", "key")
    monkeypatch.setenv("IONWORKS_API_TOKEN", "token")
    client = Ionworks(api_url="http://127.0.0.1:1")
    assert client._http.headers["Authorization"] == "Bearer token"
    assert "X-API-Key" not in client._http.headers


def test_dataframe_backend_is_per_client() -> None:
    polars_client = Ionworks(api_key="k", api_url="http://x.invalid")
    pandas_client = Ionworks(api_key="k", api_url="http://x.invalid", dataframe_backend="pandas")
    assert (polars_client.dataframe_backend, pandas_client.dataframe_backend) == (
        "polars",
        "pandas",
    )
    with pytest.raises(ValueError, match="polars"):
        Ionworks(api_key="k", api_url="http://x.invalid", dataframe_backend="arrow")


def test_bad_arguments_fail_before_any_request() -> None:
    client = Ionworks(api_key="k", api_url="http://127.0.0.1:9")
    with pytest.raises(InvalidParameterError, match=r"order_by='size'.*'created_at'"):
        client.cell_spec.list(order_by="size")
    with pytest.raises(InvalidParameterError, match="created_after='yesterday'"):
        client.cell_spec.list(created_after="yesterday")
    with pytest.raises(InvalidParameterError, match="limit=5000"):
        client.cell_spec.list(limit=5000)


def test_resource_objects_give_typed_fields_extras_and_helpful_errors() -> None:
    spec = CellSpecification(
        {
            "id": "s1",
            "name": "Cell",
            "ratings": {"capacity": {"value": 5, "unit": "mA.h"}},
            "colour": "red",
        }
    )
    assert spec.ratings is not None and spec.ratings["capacity"]["value"] == 5
    assert spec.capacity == pytest.approx(0.005)
    assert spec.colour == "red" and spec["colour"] == "red"  # a field this client does not know
    assert spec.form_factor is None  # known but absent
    with pytest.raises(AttributeError, match="fields present: colour, id, name, ratings"):
        _ = spec.voltage
    assert repr(spec) == "CellSpecification(id='s1', name='Cell')"
    assert "<table>" in spec._repr_html_()


def test_paginated_list_behaves_like_a_list_and_says_where_the_rest_is() -> None:
    items = [CellSpecification({"id": str(i), "name": f"n{i}"}) for i in range(3)]
    page = PaginatedList(items, total=10, limit=3, offset=0)
    assert len(page) == page.count == 3 and page.total == 10 and page.items == items
    assert page[0] is items[0] and page[:2] == items[:2] and items[1] in page
    assert [s.id for s in page] == ["0", "1", "2"] and page == items
    assert page.has_more
    with pytest.raises(IndexError, match="3 of 10 records; use auto_paging_iter"):
        page[5]
    assert "count=3, total=10" in repr(page) and "<table>" in page._repr_html_()


def test_auto_paging_stops_on_the_total_and_keeps_the_page_size() -> None:
    calls: list[tuple[int, int | None]] = []
    rows = [CellSpecification({"id": str(i), "name": str(i)}) for i in range(7)]

    def fetch(offset: int, limit: int | None) -> PaginatedList[CellSpecification]:
        calls.append((offset, limit))
        return PaginatedList(
            rows[offset : offset + 3], total=7, limit=limit, offset=offset, fetch_page=fetch
        )

    first = fetch(0, 3)
    assert [r.id for r in first.auto_paging_iter()] == [str(i) for i in range(7)]
    assert calls == [(0, 3), (3, 3), (6, 3)]


def _spec_path_prefixes() -> set[str]:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return {"/" + path.strip("/").split("/")[0] for path in spec["paths"]}


def test_the_hand_written_layer_builds_no_api_urls_of_its_own() -> None:
    """Every operation goes through generated/: no path of the spec appears in ionworks/."""
    prefixes = _spec_path_prefixes()
    offenders = []
    for module in (ROOT / "ionworks").rglob("*.py"):
        tree = ast.parse(module.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                for prefix in prefixes:
                    if re.search(rf"(^|[^\w]){re.escape(prefix)}(/|$|\?)", node.value):
                        offenders.append(f"{module.relative_to(ROOT)}: {node.value!r}")
    assert offenders == []


def test_public_names_are_exported() -> None:
    for name in (
        "Ionworks",
        "DataLoader",
        "IonworksError",
        "MeasurementValidationError",
        "set_cache_ttl",
        "clear_cache",
        "PaginatedList",
    ):
        assert name in ionworks.__all__ and hasattr(ionworks, name)


def test_type_checkers_see_exactly_the_lazily_exported_names_from_the_same_modules() -> None:
    """The ``TYPE_CHECKING`` imports of ``ionworks/__init__.py`` mirror its runtime table."""
    tree = ast.parse(Path(ionworks.__file__).read_text())
    static: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module is not None
                for alias in stmt.names:
                    assert alias.asname == alias.name, "re-export explicitly: name as name"
                    static[alias.name] = "." * stmt.level + stmt.module
    assert static == ionworks._WHERE
    assert sorted(ionworks.__all__) == sorted([*static, "__version__"])
    for name, module in static.items():
        assert getattr(ionworks, name) is getattr(
            __import__(f"ionworks{module}", fromlist=["_"]), name
        )


class _Tty:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def test_progress_bars_only_for_large_transfers_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ionworks._progress import progress_bar, progress_enabled

    monkeypatch.delenv("IONWORKS_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.setattr(sys, "stderr", _Tty(False))
    assert not progress_enabled()
    monkeypatch.setattr(sys, "stderr", _Tty(True))
    assert progress_enabled()
    with progress_bar(50 * 1024 * 1024, "Downloading") as advance:
        assert advance is not None
        advance(1024)
    with progress_bar(1024, "Downloading") as advance:
        assert advance is None  # small transfers never show a bar
    monkeypatch.setenv("IONWORKS_DISABLE_PROGRESS_BARS", "1")
    assert not progress_enabled()


def test_the_progress_bar_draws_on_a_pseudo_terminal_without_a_size() -> None:
    """CI runners and `script` give a pty of 0x0; the bar must still be drawn there."""
    import os
    import pty

    master, slave = pty.openpty()
    code = (
        "from ionworks._progress import progress_bar\n"
        "with progress_bar(50 * 1024 * 1024, 'Downloading test') as advance:\n"
        "    advance(25 * 1024 * 1024)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "IONWORKS_DISABLE_PROGRESS_BARS"}
    subprocess.run([sys.executable, "-c", code], stderr=slave, env=env, check=True, timeout=60)
    os.close(slave)
    output = b""
    try:
        while chunk := os.read(master, 65536):
            output += chunk
    except OSError:
        pass  # the pty reports EIO once the writer is gone
    os.close(master)
    assert b"Downloading test" in output
