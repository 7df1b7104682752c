"""The import graph of marsview stays a readable house (issue 14, docs/architecture.md):

- no import cycle among marsview modules (grimp builds the graph, the same one import-linter checks);
- no module imports another module's ``_private`` name (``from m import _x``, ``from . import _mod``,
  ``import marsview.x._y``): a name with a leading underscore is used only by the module (or package
  ``__init__``) that defines it;
- every ``import marsview.<module>`` works in a fresh interpreter, whatever was imported before it.

The KNOWN_* sets are empty (issue 14 removed the last violations) and stay so: any violation fails the test. Were
one ever admitted there with its reason, an entry that no longer occurs fails too (``test_known_debt_is_not_stale``).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIR = REPO / "marsview"

# known import cycles (none left: keep it empty; each entry would be one strongly connected set of modules)
KNOWN_CYCLES: set[frozenset[str]] = set()

# known imports of another module's private name (none left: keep it empty; "importer -> imported.name")
KNOWN_PRIVATE_IMPORTS: set[str] = set()

# modules that fail to import alone in a fresh interpreter (none left: keep it empty)
KNOWN_FRESH_IMPORT_FAILURES: set[str] = set()

# importing it runs the program (``python -m marsview``), so the fresh-import check leaves it out
NOT_IMPORTABLE = {"marsview.__main__"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


SOURCES = {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}
MODULES = sorted(SOURCES)


def _is_private(segment: str) -> bool:
    return segment.startswith("_") and not segment.startswith("__")


def private_imports(module: str, source: str) -> list[str]:
    """Every "MODULE -> name" where MODULE imports a _private name that another module owns.

    The owner of ``a.b._c.d`` is ``a.b`` (where the first private segment is defined); the owner itself and
    modules inside ``a.b._c`` may use it, siblings and everyone else may not."""
    is_package = SOURCES.get(module, Path()).name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names if alias.name != "*"]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for full in names:
            segments = full.split(".")
            if segments[0] != "marsview":
                continue
            first = next((i for i, s in enumerate(segments) if _is_private(s)), None)
            if first is None:
                continue
            owner, private_prefix = ".".join(segments[:first]), ".".join(segments[: first + 1])
            if module == owner or module == private_prefix or module.startswith(private_prefix + "."):
                continue
            found.append(f"{module} -> {full}")
    return found


def import_cycles() -> list[frozenset[str]]:
    """Strongly connected sets (more than one module) of the marsview import graph, lazy imports included."""
    graph = grimp.build_graph("marsview", cache_dir=None)
    modules = sorted(m for m in graph.modules if m.startswith("marsview"))
    edges = {m: sorted(x for x in graph.find_modules_directly_imported_by(m) if x.startswith("marsview"))
             for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:  # Tarjan; the graph is ~100 modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(frozenset(component))

    for m in modules:
        if m not in index:
            visit(m)
    return cycles


def test_no_new_import_cycle():
    new = [sorted(c) for c in import_cycles() if not any(c <= known for known in KNOWN_CYCLES)]
    assert not new, ("import cycles among marsview modules (move the shared piece to the module that owns "
                     f"the concept; see docs/architecture.md): {new}")


def test_no_new_import_of_a_private_name():
    found = {v for m, p in SOURCES.items() for v in private_imports(m, p.read_text(encoding="utf-8"))}
    new = sorted(found - KNOWN_PRIVATE_IMPORTS)
    assert not new, f"imports of another module's _private name (make it public where it belongs): {new}"


def test_known_debt_is_not_stale():
    """A KNOWN_* entry that no longer occurs must be deleted, so the debt list only shrinks."""
    cycles = import_cycles()
    found = {v for m, p in SOURCES.items() for v in private_imports(m, p.read_text(encoding="utf-8"))}
    fixed = [sorted(k) for k in KNOWN_CYCLES if not any(c <= k for c in cycles)]
    fixed += sorted(KNOWN_PRIVATE_IMPORTS - found)
    assert not fixed, f"fixed, so delete from KNOWN_CYCLES / KNOWN_PRIVATE_IMPORTS in {__file__}: {fixed}"


def test_the_private_import_scan_sees_every_form():
    """The scan is only worth something if it catches each way of reaching a private name."""
    SOURCES.setdefault("marsview.gui.example", PACKAGE_DIR / "gui" / "example.py")
    src = textwrap.dedent("""
        from marsview.io.spk import _path_bodies
        from . import _qt
        from .briefing import _view_menu, install_briefing
        import marsview.core._jit
        from ._own import helper
        from marsview.gui import launch
    """)
    try:
        got = private_imports("marsview.gui.example", src)
    finally:
        del SOURCES["marsview.gui.example"]
    assert got == ["marsview.gui.example -> marsview.io.spk._path_bodies",
                   "marsview.gui.example -> marsview.gui._qt",
                   "marsview.gui.example -> marsview.gui.briefing._view_menu",
                   "marsview.gui.example -> marsview.core._jit",
                   "marsview.gui.example -> marsview.gui._own.helper"]
    assert private_imports("marsview.core._jit", "from marsview.core._jit import njit") == []
    assert private_imports("marsview.gui", "from ._qt import x") == []  # a package uses its own privates


_RUNNER = textwrap.dedent("""
    import importlib, json, os, sys, traceback, warnings
    # third-party libraries are loaded once and shared by the forked children; no marsview module is imported
    # here, so each child imports its marsview module (and whatever that pulls in) from nothing
    for lib in ("numpy", "scipy", "scipy.integrate", "scipy.optimize", "numba", "PySide6.QtCore", "PySide6.QtGui",
                "PySide6.QtWidgets", "vispy", "pyqtgraph", "spiceypy", "erfa"):
        try:
            importlib.import_module(lib)
        except ImportError:
            pass
    assert not [m for m in sys.modules if m == "marsview" or m.startswith("marsview.")]
    results = {}
    for name in json.loads(sys.argv[1]):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                warnings.filterwarnings("error", module="marsview")
                importlib.import_module(name)
                os._exit(0)
            except BaseException:
                os.write(write, traceback.format_exc().encode()[-4000:])
                os._exit(1)
        os.close(write)
        with os.fdopen(read, "rb") as f:
            message = f.read().decode(errors="replace")
        _, status = os.waitpid(pid, 0)
        results[name] = None if status == 0 else (message or f"exit status {status}")
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def fresh_import_results() -> dict[str, str | None]:
    """Import every marsview module in its own forked child of one clean interpreter (a few seconds in all,
    instead of one interpreter start-up per module)."""
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    names = [m for m in MODULES if m not in NOT_IMPORTABLE]
    out = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(names)], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", [
    pytest.param(m, marks=pytest.mark.xfail(reason="known, issue 14", strict=False))
    if m in KNOWN_FRESH_IMPORT_FAILURES else m
    for m in MODULES if m not in NOT_IMPORTABLE])
def test_module_imports_in_a_fresh_interpreter(module, fresh_import_results):
    error = fresh_import_results[module]
    assert error is None, f"import {module} in a fresh interpreter fails:\n{error}"
