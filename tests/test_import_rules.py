"""The import rules of docs/architecture.md, enforced: what may import what, and why.

* ``ionworks.data`` (the data core) imports only the standard library, polars and numpy: the
  client, the DataLoader, the plots and the server all call it, so it must depend on none of them.
* ``ionworks_server`` may use ``ionworks.data`` and nothing else of ``ionworks``, and never the
  generated client: it is tested *through* HTTP, and a server that shared client code could hide
  a protocol mismatch.
* The library never imports ``ionworks_server`` (an optional extra), except lazily in the CLI
  command that runs it (``ionworks serve`` / ``ionworks admin``).
* No import cycle inside ``ionworks/``: a cycle makes import order matter and forced the
  reach-backs (``importlib.import_module("ionworks")``) this rule replaced.

The static rules read every ``.py`` file with :mod:`ast` (no import, so a violation in code that
never runs is still caught); the runtime rules import in a fresh interpreter and look at
``sys.modules``, which also sees imports made by strings.
"""

from __future__ import annotations

import ast
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "ionworks"
DATA_CORE = LIBRARY / "data"
SERVER = ROOT / "ionworks_server"

DATA_CORE_THIRD_PARTY = frozenset({"polars", "numpy"})
"""The only packages outside the standard library that ``ionworks.data`` may import."""

READER_PARSERS = frozenset({"fastnda"})
"""Optional parsers ``ionworks.data.read`` may import lazily (BSD-3-Clause; extra 'readers')."""

ANALYSIS_KERNELS = frozenset({"numba"})
"""The compiler of the optional dQ/dV kernels (BSD-2-Clause; extra 'analysis'): imported only
by the one module that holds them, which ``_kernels`` imports on the first dQ/dV call."""
KERNEL_MODULE = DATA_CORE / "analysis" / "_jit.py"


# --------------------------------------------------------------------------------------------
# Reading imports
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One import statement's target, where it is, and whether it runs when the module loads."""

    target: str
    path: Path
    line: int
    module_level: bool
    function: str | None

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _module_name(path: Path) -> str:
    """Dotted name of a source file (``ionworks/_cache/__init__.py`` → ``ionworks._cache``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``: imports for the type checker only."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _targets(node: ast.AST, path: Path, known: frozenset[str]) -> list[str]:
    """The modules an import statement (or ``import_module("x")`` call) loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = _module_name(path).split(".")
            if path.name != "__init__.py":
                package.pop()
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, *([base] if base else [])])
        # ``from pkg import sub`` loads the submodule ``pkg.sub``; ``from mod import name`` loads mod.
        subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
        return subs or [base]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name | ast.Attribute)
        and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
        in ("import_module", "__import__")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def _walk(
    nodes: Sequence[ast.AST], module_level: bool, function: str | None
) -> Iterator[tuple[ast.AST, bool, str | None]]:
    """Every node with whether it runs at import time and the function it is in (if any)."""
    for node in nodes:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _walk(node.body, False, node.name)
            yield from _walk([*node.decorator_list, *node.args.defaults], module_level, function)
        elif isinstance(node, ast.Lambda):
            yield from _walk([node.body], False, function)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk(node.body, False, function)
            yield from _walk(node.orelse, module_level, function)
        else:
            yield node, module_level, function
            yield from _walk(list(ast.iter_child_nodes(node)), module_level, function)


def _imports(path: Path, known: frozenset[str]) -> list[Import]:
    """Every import in a file, each marked module-level or not."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node, module_level, function in _walk(tree.body, True, None):
        for target in _targets(node, path, known):
            line = getattr(node, "lineno", 0)
            found.append(Import(target, path, line, module_level, function))
    return found


def _files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _known_modules(*roots: Path) -> frozenset[str]:
    return frozenset(_module_name(path) for root in roots for path in _files(root))


def _is_within(target: str, package: str) -> bool:
    return target == package or target.startswith(package + ".")


def _run(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; it prints a JSON list, which is returned."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


# --------------------------------------------------------------------------------------------
# The data core
# --------------------------------------------------------------------------------------------


def _data_core_offences(known: frozenset[str]) -> list[str]:
    allowed_top = set(sys.stdlib_module_names) | DATA_CORE_THIRD_PARTY | {"__future__"}
    offences = []
    for path in _files(DATA_CORE):
        for imp in _imports(path, known):
            top = imp.target.split(".")[0]
            if _is_within(imp.target, "ionworks.data"):
                continue
            # Cycler readers may use a permissive binary-format parser (the 'readers' extra).
            if top in READER_PARSERS and path.is_relative_to(DATA_CORE / "read"):
                continue
            if top in ANALYSIS_KERNELS and path == KERNEL_MODULE:
                continue
            if top == "ionworks" or top not in allowed_top:
                offences.append(f"{imp.where()} imports {imp.target}")
    return offences


def test_the_data_core_imports_only_the_standard_library_polars_and_numpy() -> None:
    """Anywhere in the file, type-checking imports included: the core must stand alone."""
    offences = _data_core_offences(_known_modules(LIBRARY))
    assert offences == [], "ionworks.data must import only stdlib, polars, numpy:\n" + "\n".join(
        offences
    )


def test_the_data_core_loads_alone_without_the_client() -> None:
    """Import every ``ionworks.data`` module under an empty ``ionworks`` package, in a fresh
    interpreter: nothing of the client, the server, the generated code or httpx may load."""
    code = f"""
import importlib, json, pkgutil, sys, types
parent = types.ModuleType("ionworks")
parent.__path__ = [{str(LIBRARY)!r}]
sys.modules["ionworks"] = parent
import ionworks.data
for info in pkgutil.walk_packages(ionworks.data.__path__, "ionworks.data."):
    importlib.import_module(info.name)
loaded = [m for m in sys.modules if m.split(".")[0] in
          ("ionworks", "ionworks_server", "ionworks_generated", "httpx")]
print(json.dumps(sorted(m for m in loaded if m != "ionworks" and not m.startswith("ionworks.data"))))
"""
    loaded = _run(code)
    assert loaded == [], f"the data core loads: {loaded}"


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def _server_offences(known: frozenset[str]) -> list[str]:
    offences = []
    for path in _files(SERVER):
        for imp in _imports(path, known):
            top = imp.target.split(".")[0]
            if top == "ionworks" and not _is_within(imp.target, "ionworks.data"):
                offences.append(f"{imp.where()} imports {imp.target} (only ionworks.data)")
            elif top == "ionworks_generated":
                offences.append(f"{imp.where()} imports the generated client {imp.target}")
    return offences


def test_the_server_never_imports_the_client() -> None:
    """Of ``ionworks`` only ``ionworks.data``; never ``ionworks_generated``."""
    offences = _server_offences(_known_modules(LIBRARY, SERVER))
    assert offences == [], "\n".join(offences)


def test_running_the_server_loads_nothing_of_the_client() -> None:
    """Every server module imported in a fresh interpreter: of ``ionworks`` only the data core is
    loaded (with its parent package, which must therefore import its public names lazily, and
    the package's ``_version``), and neither httpx nor the generated client."""
    code = """
import importlib, json, pkgutil, sys
import ionworks_server
for info in pkgutil.walk_packages(ionworks_server.__path__, "ionworks_server."):
    if info.name != "ionworks_server.__main__":
        importlib.import_module(info.name)
loaded = [m for m in sys.modules if m.split(".")[0] in ("ionworks", "ionworks_generated", "httpx")]
allowed = ("ionworks", "ionworks._version")
print(json.dumps(sorted(m for m in loaded if m not in allowed and not m.startswith("ionworks.data"))))
"""
    loaded = _run(code)
    assert loaded == [], f"the server loads client code: {loaded}"


# --------------------------------------------------------------------------------------------
# The library and the server
# --------------------------------------------------------------------------------------------

CLI = LIBRARY / "cli.py"


def test_the_library_never_imports_the_server_except_the_cli() -> None:
    """Outside the CLI the name does not appear at all (not even as a string to import)."""
    for module in _files(LIBRARY):
        if module == CLI:
            continue
        assert "ionworks_server" not in module.read_text(), module


def test_the_cli_imports_the_server_only_inside_a_function() -> None:
    """``ionworks serve``/``admin`` import it when run, so ``ionworks --help`` works without it."""
    imports = [
        i for i in _imports(CLI, _known_modules(LIBRARY)) if i.target.startswith("ionworks_")
    ]
    server = [i for i in imports if _is_within(i.target, "ionworks_server")]
    assert server, "the CLI no longer runs the server: update this rule"
    assert [i.where() for i in server if i.module_level or i.function is None] == []


def test_only_the_command_line_imports_its_modules() -> None:
    """The library does not borrow from the CLI: what both need (the frame an upload sends,
    ``_file_frames``) lives outside it, so the CLI's wording and options stay the CLI's."""
    known = _known_modules(LIBRARY)
    cli_modules = {
        "ionworks.cli",
        "ionworks._cli_files",
        "ionworks._cli_analyse",
        "ionworks._cli_run",
    }
    assert cli_modules <= known, "a CLI module was renamed: update this rule"
    found = [
        i.where()
        for module in _files(LIBRARY)
        if _module_name(module) not in cli_modules
        for i in _imports(module, known)
        if i.target in cli_modules
    ]
    assert found == []


def test_importing_ionworks_and_its_analysis_does_not_load_numba() -> None:
    """numba costs a few hundred milliseconds to import: only the first dQ/dV call pays it."""
    code = (
        "import sys, json, ionworks, ionworks.data, ionworks.data.analysis; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numba', 'llvmlite') or m == 'ionworks.data.analysis._jit')))"
    )
    assert _run(code) == []


def test_importing_ionworks_loads_neither_matplotlib_nor_pandas_nor_the_server() -> None:
    code = (
        "import sys, json, ionworks; "
        "print(json.dumps(sorted(m for m in ('matplotlib', 'pandas', 'ionworks_server') "
        "if m in sys.modules)))"
    )
    assert _run(code) == []


def test_importing_any_library_module_loads_neither_matplotlib_nor_pandas_nor_the_server() -> None:
    """Plots import matplotlib when drawing and the backend imports pandas when chosen; the CLI
    imports the server when it runs one. Importing a module must pay for none of them."""
    code = """
import importlib, json, pkgutil, sys
import ionworks
for info in pkgutil.walk_packages(ionworks.__path__, "ionworks."):
    importlib.import_module(info.name)
print(json.dumps(sorted(m for m in ("matplotlib", "pandas", "ionworks_server") if m in sys.modules)))
"""
    assert _run(code) == []


# --------------------------------------------------------------------------------------------
# No import cycles
# --------------------------------------------------------------------------------------------


def _module_graph() -> dict[str, dict[str, Import]]:
    """``ionworks`` module → the ``ionworks`` modules it imports when it loads (one site each).

    Only module-level imports count: one inside a function or under ``TYPE_CHECKING`` runs after
    both modules exist. Importing ``a.b.c`` also runs package ``a.b``'s ``__init__``, but that
    edge is left out: a package re-exporting its submodules would otherwise form a cycle with
    each of them by construction, and Python resolves it (the package object exists first).
    """
    known = _known_modules(LIBRARY)
    graph: dict[str, dict[str, Import]] = {name: {} for name in known}
    for path in _files(LIBRARY):
        source = _module_name(path)
        for imp in _imports(path, known):
            if imp.module_level and imp.target in known and imp.target != source:
                graph[source].setdefault(imp.target, imp)
    return graph


def _find_cycle(graph: dict[str, dict[str, Import]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None; depth-first search with a colour per node."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_there_is_no_import_cycle_inside_ionworks() -> None:
    graph = _module_graph()
    cycle = _find_cycle(graph)
    if cycle is not None:
        steps = [f"{a} → {b} ({graph[a][b].where()})" for a, b in itertools.pairwise(cycle)]
        pytest.fail("import cycle in ionworks/:\n  " + "\n  ".join(steps))


def test_the_cycle_finder_reports_a_cycle_and_accepts_a_tree() -> None:
    """The finder itself, on made-up graphs: a rule that cannot fail proves nothing."""
    site = Import("x", ROOT / "x.py", 1, True, None)
    assert _find_cycle({"a": {"b": site}, "b": {"c": site}, "c": {}}) is None
    assert _find_cycle({"a": {"b": site}, "b": {"c": site}, "c": {"a": site}}) == [
        "a",
        "b",
        "c",
        "a",
    ]
