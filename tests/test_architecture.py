"""Architecture rules, checked on the source with `ast`: no import cycle among overthink's modules, and no SQL
outside the store package (src/overthink/store/ owns every statement and the sqlite3 connection).

Every import statement between overthink modules counts, also one inside a function (moving an import into a
function hides a cycle, it does not break it); only the bodies of `if TYPE_CHECKING:` do not, as they never run.
`from pkg import NAME` depends on pkg itself when NAME is not a submodule. Importing `a.b.c` also runs the packages
`a.b` above it, so those count too (except packages that contain the importing module: they are already loaded).
The first tests feed the checker small made-up packages, so it is known to fail on what it must catch.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "overthink"
STORE = f"{PACKAGE}.store"

# SQL keywords in capitals, as the store writes them (English "select the items" is not SQL). Lower-case SQL still
# needs a connection, and sqlite3 imports and `.conn` use outside the store are caught separately.
SQL = re.compile(r"\bSELECT\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|"
                 r"\bCREATE\s+(?:TABLE|INDEX|VIEW)\b|\bDROP\s+TABLE\b")


def modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package under root."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_statements(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, also inside functions (a cycle hidden in a function is still a cycle), except the
    bodies of `if TYPE_CHECKING:` (never run)."""
    out: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            out += _import_statements(node.orelse)
        else:
            for field in ("body", "orelse", "finalbody"):
                out += _import_statements(getattr(node, field, None) or [])
            for block in (*getattr(node, "handlers", ()), *getattr(node, "cases", ())):  # except / case blocks
                out += _import_statements(block.body)
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of `known` that importing module `name` (file `path`) runs, including parent packages."""
    is_package = path.name == "__init__.py"
    named: set[str] = set()  # modules the import statements name
    for node in _import_statements(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = name.split(".") if is_package else name.split(".")[:-1]
                base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            subs = {f"{base}.{alias.name}" for alias in node.names} & known
            named.update(subs)
            if len(subs) < len(node.names):  # `from pkg import NAME` needs pkg/__init__ to have run to NAME
                named.add(base)
    own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}  # packages above `name`
    edges = {m for m in named if m in known and m != name}
    for target in named:  # importing a.b.c first runs a and a.b, unless they are the importer's own packages
        parts = target.split(".")
        edges.update(p for p in (".".join(parts[:i]) for i in range(1, len(parts)))
                     if p in known and p not in own and p != name)
    return edges


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    mods = modules(root, package)
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a closed path a -> ... -> a) per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph.get(v, ()):
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_path_in(graph, group) for group in groups]


def _path_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest closed path through the group's first module (breadth-first, inside the group)."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & group):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return sorted(group)


def sql_outside_store(root: Path, package: str, store: str) -> list[str]:
    """file:line: what, for SQL text, sqlite3 imports and `.conn` use in modules outside the store package."""
    found = []
    for name, path in modules(root, package).items():
        if name == store or name.startswith(store + "."):
            continue
        rel = path.relative_to(root.parent) if root.parent in path.parents else path
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = None
            if isinstance(node, ast.JoinedStr):  # f"SELECT {cols} FROM t": placeholders become `x`
                text = "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            if text is not None and (match := SQL.search(text)):
                found.append(f"{rel}:{node.lineno}: SQL {match.group(0)!r} in a string")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(n.split(".")[0] == "sqlite3" for n in names):
                    found.append(f"{rel}:{node.lineno}: imports sqlite3")
            if isinstance(node, ast.Attribute) and node.attr == "conn":
                found.append(f"{rel}:{node.lineno}: uses a store's .conn")
    return sorted(set(found))


# -- the checker catches what it must (made-up packages) ---------------------------------------------------------

def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_checker_finds_cycles_through_every_import_form(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "from . import b\n",                      # from . import module
        "b.py": "from .sub.c import thing\n",             # from .x.y import name
        "sub/__init__.py": "",
        "sub/c.py": "import pkg.a\n",                     # absolute import
        "d.py": "from .e import f\n",
        "e.py": "from .d import g\n",
    })
    found = sorted(cycles(import_graph(root, "pkg")))
    assert found == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"], ["pkg.d", "pkg.e", "pkg.d"]]


def test_checker_counts_parent_packages_and_relative_levels(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "low.py": "from .tasks.files import read\n",       # runs pkg/tasks/__init__.py first
        "tasks/__init__.py": "from .. import low\n",       # two-dot relative import of a module
        "tasks/files.py": "def read(): pass\n",
    })
    graph = import_graph(root, "pkg")
    assert graph["pkg.low"] == {"pkg.tasks", "pkg.tasks.files"}
    assert graph["pkg.tasks"] == {"pkg.low"}
    assert cycles(graph) == [["pkg.low", "pkg.tasks", "pkg.low"]]


def test_checker_counts_names_from_a_package_init_but_not_its_submodules(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "from .a import x\nLIMIT = 3\n",
        "a.py": "from . import b\nfrom . import LIMIT\nx = LIMIT\n",  # LIMIT needs pkg/__init__ (a cycle)
        "b.py": "from . import c\n",                                   # c is a submodule: pkg itself not needed
        "c.py": "",
    })
    graph = import_graph(root, "pkg")
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg", "pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": set()}
    assert cycles(graph) == [["pkg", "pkg.a", "pkg"]]


def test_checker_ignores_type_checking_but_not_function_imports(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import b\n",
        "b.py": "class K:\n    def f(self):\n        if True:\n            from . import a\n",
        "c.py": "try:\n    from . import d\nexcept ImportError:\n    pass\n",
        "d.py": "import typing\nif typing.TYPE_CHECKING:\n    from . import c\nelse:\n    from . import a\n",
        "e.py": "def f():\n    from .f import g\n",
        "f.py": "async def g():\n    with open('x'):\n        from . import e\n",
    })
    graph = import_graph(root, "pkg")
    assert graph == {"pkg": set(), "pkg.a": set(), "pkg.b": {"pkg.a"}, "pkg.c": {"pkg.d"}, "pkg.d": {"pkg.a"},
                     "pkg.e": {"pkg.f"}, "pkg.f": {"pkg.e"}}
    assert cycles(graph) == [["pkg.e", "pkg.f", "pkg.e"]]


def test_checker_finds_sql_outside_the_store(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": '"""Select the items from a run; update the report."""\n',  # English, not SQL
        "store/__init__.py": 'SQL = "SELECT id FROM samples"\nimport sqlite3\n',
        "load.py": 'cols = "id"\nq = f"SELECT {cols} FROM samples"\n',
        "write.py": 'import sqlite3\nsql = "INSERT OR IGNORE INTO labels VALUES (?)"\nlow = "select 1"\n',
        "patch.py": 'def f(store):\n    store.conn.execute("UPDATE samples SET x = 1")\n',
        "drop.py": 'S = "DELETE FROM items"\nT = "CREATE TABLE t (x)"\n',
    })
    found = [line.split("pkg/", 1)[1] for line in sql_outside_store(root, "pkg", "pkg.store")]
    assert found == ["drop.py:1: SQL 'DELETE FROM' in a string", "drop.py:2: SQL 'CREATE TABLE' in a string",
                     "load.py:2: SQL 'SELECT' in a string", "patch.py:2: SQL 'UPDATE samples SET' in a string",
                     "patch.py:2: uses a store's .conn", "write.py:1: imports sqlite3",
                     "write.py:2: SQL 'INSERT OR IGNORE INTO' in a string"]


# -- the rules hold for overthink ----------------------------------------------------------------------------------

def test_no_import_cycles_in_overthink():
    found = cycles(import_graph(SRC, PACKAGE))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_no_sql_outside_the_store_package():
    found = sql_outside_store(SRC, PACKAGE, STORE)
    assert not found, "SQL outside src/overthink/store/:\n" + "\n".join(found)


def test_the_store_package_is_where_the_sql_is():
    # guards the rule above against a renamed store: the SQL must be found somewhere
    store_files = [p for name, p in modules(SRC, PACKAGE).items() if name == STORE or name.startswith(STORE + ".")]
    assert any(SQL.search(p.read_text(encoding="utf-8")) for p in store_files)


# -- the layer contracts (import-linter, pyproject.toml [tool.importlinter]) ---------------------------------------

def _lint_imports(config: Path) -> int:
    from importlinter.cli import lint_imports

    return lint_imports(config_filename=str(config), no_cache=True, no_logo=True)


def test_the_layer_checker_fails_on_an_upward_import(tmp_path, monkeypatch):
    pkg = tmp_path / "layered"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "high.py").write_text("X = 1\n")
    (pkg / "low.py").write_text("from . import high\n")
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.importlinter]\nroot_package = "layered"\n\n[[tool.importlinter.contracts]]\n'
                      'name = "top-down"\ntype = "layers"\nlayers = ["layered.high", "layered.low"]\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _lint_imports(config) == 1
    (pkg / "low.py").write_text("Y = 2\n")
    assert _lint_imports(config) == 0


def test_overthink_keeps_its_layer_contracts():
    # `lint-imports` from the checkout prints the offending chain when this fails
    assert _lint_imports(SRC.parent / "pyproject.toml") == 0


def test_no_test_module_imports_an_sdk_at_collection():
    from conftest import SDKS_AT_COLLECTION

    assert not SDKS_AT_COLLECTION, f"imported while collecting the tests: {SDKS_AT_COLLECTION} (import in the test)"
