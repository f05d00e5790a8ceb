"""The architecture's invariants as executable contracts, in the manner of import-linter.

1. On the client side, only ``speech_async/_http.py`` imports aiohttp at run time, and the web-hook
   receiver ``speech_async/webhooks.py``, which is server-side code run inside the user's aiohttp app.
2. The client's modules import each other without cycles, ``TYPE_CHECKING`` and function-level imports
   included; and none imports the ``speech_async`` package itself back.
3. The emulator imports nothing private from the client, and no relative import leaves it.
4. Every route the emulator serves has a spec in its route registry (``emulator/_routes.py``), and spec
   names are unique; the admin API under ``/_emulator/`` is kept apart from the registry.
5. Every public module (no ``_`` at the start of any part of its dotted name) has an ``__all__`` that is
   one tuple of names it defines, sorted as ``sorted()`` sorts them, the convention of
   ``tests/test_public_api.py``: plain code-point order, so capitalised names come before lower-case ones.

Rules 1-3 and 5 read the source (``ast``), never importing it, so they judge a tree even while it does
not import. Each checker takes a package directory and returns its findings; each has a self-test that
feeds it a small package written to ``tmp_path`` which breaks the rule, so no rule passes vacuously.
"""

from __future__ import annotations

import ast
import importlib
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from aiohttp import web

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "speech_async"
# Subpackages of speech_async that are not the client: they may use aiohttp and the client freely.
NOT_CLIENT = ("emulator", "demo", "cli")
# The client modules allowed to import aiohttp at run time: the HTTP layer, and the web-hook receiver,
# an aiohttp request handler by its nature (its callers' apps are aiohttp apps; a function-level import
# would count all the same).
AIOHTTP_MODULES = ("_http", "webhooks")
# The emulator's own admin API (state, scripted transcripts, faults), kept apart from the service routes.
ADMIN_PREFIX = "/_emulator/"


# --- reading a package ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Import:
    """One module an import statement loads (``import a.b`` loads ``a`` and ``a.b``: two of these)."""

    importer: Module
    target: str
    line: int
    # "named": the statement names the module; "parent": a package loaded on the way to a named module.
    kind: Literal["named", "parent"]
    type_checking: bool
    relative: bool

    @property
    def where(self) -> str:
        return f"{self.importer.name} (line {self.line})"


def read_package(package_dir: Path) -> dict[str, Module]:
    """Every module under ``package_dir``, by dotted name (the directory's name is the top package)."""
    modules: dict[str, Module] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = Module(name, path, is_package, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(node: ast.AST, type_checking: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under ``node``, at any depth (functions too), and whether it is type-checking only."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for statement in child.body:
                yield from _statements_of(statement, True)
            for statement in child.orelse:
                yield from _statements_of(statement, type_checking)
        else:
            yield from _statements_of(child, type_checking)


def _statements_of(node: ast.AST, type_checking: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node, type_checking
    else:
        yield from _statements(node, type_checking)


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def imports_of(module: Module, modules: Mapping[str, Module]) -> Iterator[Import]:
    """What each import statement of ``module`` loads, relative imports resolved.

    ``from pkg import name`` loads the module ``pkg.name`` when there is one, and names ``pkg`` only
    when some imported name is not a module (it is then read from ``pkg``'s namespace).
    """
    for statement, type_checking in _statements(module.tree):
        line = statement.lineno
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                *parents, named = _with_parents(alias.name)
                for parent in parents:
                    yield Import(module, parent, line, "parent", type_checking, relative=False)
                yield Import(module, named, line, "named", type_checking, relative=False)
            continue
        if statement.level:
            base_parts = module.package.split(".")
            # One level is the module's own package; each further dot goes one package up.
            up = statement.level - 1
            if up >= len(base_parts):
                yield Import(module, "." * statement.level, line, "named", type_checking, relative=True)
                continue
            base = ".".join(base_parts[: len(base_parts) - up] + ([statement.module] if statement.module else []))
        else:
            base = statement.module or ""
        relative = statement.level > 0
        *parents, named = _with_parents(base)
        for parent in parents:
            yield Import(module, parent, line, "parent", type_checking, relative)
        names = [alias.name for alias in statement.names]
        submodules = [f"{base}.{name}" for name in names if f"{base}.{name}" in modules]
        reads_namespace = len(submodules) < len(names)
        yield Import(module, named, line, "named" if reads_namespace else "parent", type_checking, relative)
        for submodule in submodules:
            yield Import(module, submodule, line, "named", type_checking, relative)


def _top(modules: Mapping[str, Module]) -> str:
    return next(iter(modules)).partition(".")[0]


def _is_client(name: str, top: str) -> bool:
    parts = name.split(".")
    return parts[0] == top and (len(parts) == 1 or parts[1] not in NOT_CLIENT)


# --- rule 1: aiohttp only in _http.py (and webhooks.py) ---------------------------------------------


def aiohttp_outside_http(package_dir: Path) -> list[str]:
    modules = read_package(package_dir)
    top = _top(modules)
    return [
        f"{found.where} imports {found.target}"
        for module in modules.values()
        if _is_client(module.name, top) and module.name not in {f"{top}.{name}" for name in AIOHTTP_MODULES}
        for found in imports_of(module, modules)
        if not found.type_checking and found.kind == "named" and found.target.split(".")[0] == "aiohttp"
    ]


# --- rule 2: no import cycles, no import of the package back ----------------------------------------


def client_import_graph(modules: Mapping[str, Module]) -> dict[str, dict[str, Import]]:
    """Client module -> imported client module -> the first import making that edge.

    The top package is left out: its ``__init__`` imports everything, and nothing may import it back
    (:func:`imports_of_the_package`). A package loaded on the way to one of its own submodules is not an
    edge: Python is already importing it when the submodule runs.
    """
    top = _top(modules)
    graph: dict[str, dict[str, Import]] = {}
    for module in modules.values():
        if module.name == top or not _is_client(module.name, top):
            continue
        edges = graph.setdefault(module.name, {})
        for found in imports_of(module, modules):
            target = found.target
            if target == top or target == module.name or target not in modules or not _is_client(target, top):
                continue
            if found.kind == "parent" and module.name.startswith(target + "."):
                continue
            edges.setdefault(target, found)
    return graph


def _strongly_connected(graph: Mapping[str, Mapping[str, object]]) -> list[list[str]]:
    """Tarjan's algorithm: the graph's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, {}):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _shortest_cycle(graph: Mapping[str, Mapping[str, Import]], component: Sequence[str]) -> list[str]:
    """The shortest path from the component's first module back to itself, within the component."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for successor in sorted(graph.get(node, {})):
                if successor not in members or successor in came_from:
                    continue
                came_from[successor] = node
                if successor == start:
                    path = [start]
                    while path[-1] != start or len(path) == 1:
                        path.append(came_from[path[-1]])
                    return path[::-1]
                following.append(successor)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {component}")


def import_cycles(package_dir: Path) -> list[str]:
    """Each cycle among the client's modules, as a path with the line of every import on it."""
    graph = client_import_graph(read_package(package_dir))
    found: list[str] = []
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        path = _shortest_cycle(graph, component)
        steps = ", ".join(graph[a][b].where + f" imports {b}" for a, b in itertools.pairwise(path))
        others = f" (the cycle's component also holds {', '.join(sorted(set(component) - set(path)))})"
        found.append(" -> ".join(path) + f": {steps}" + (others if set(component) - set(path) else ""))
    return found


def imports_of_the_package(package_dir: Path) -> list[str]:
    """Client modules that import the top package itself (``import pkg``, ``from pkg import Name``)."""
    modules = read_package(package_dir)
    top = _top(modules)
    return [
        f"{found.where} imports {top} itself"
        for module in modules.values()
        if module.name != top and _is_client(module.name, top)
        for found in imports_of(module, modules)
        if found.target == top and found.kind == "named"
    ]


# --- rule 3: the emulator stays off the client's private modules ------------------------------------


def emulator_reaching_into_the_client(package_dir: Path) -> list[str]:
    modules = read_package(package_dir)
    top = _top(modules)
    emulator = f"{top}.emulator"
    problems: list[str] = []
    for module in modules.values():
        if not (module.name == emulator or module.name.startswith(emulator + ".")):
            continue
        for found in imports_of(module, modules):
            if found.relative and found.kind == "named" and not _within(found.target, emulator):
                problems.append(f"{found.where}: relative import of {found.target} leaves {emulator}")
            if found.target.startswith(f"{top}._"):
                problems.append(f"{found.where} imports the client's private {found.target}")
    return problems


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


# --- rule 4: every served route has a spec ----------------------------------------------------------


class SpecLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def paths(self) -> Sequence[str]: ...


def _canonical(path: str) -> str:
    # aiohttp's own reading of a route template: "{mode:[a-z]+}" and "{mode}" are the same route.
    return web.UrlDispatcher().add_resource(path).canonical


def routes_without_a_spec(app: web.Application, specs: Iterable[SpecLike]) -> list[str]:
    covered = {(spec.method.upper(), _canonical(path)) for spec in specs for path in spec.paths}
    missing: list[str] = []
    for route in app.router.routes():
        if route.resource is None:
            continue
        method, path = route.method.upper(), route.resource.canonical
        if path.startswith(ADMIN_PREFIX):
            continue
        # Strict on HEAD too: the registry adds none beside a GET, so one served is a route of its own.
        if (method, path) not in covered:
            missing.append(f"{method} {path}")
    return missing


def duplicate_spec_names(specs: Iterable[SpecLike]) -> list[str]:
    seen: set[str] = set()
    duplicates: list[str] = []
    for spec in specs:
        if spec.name in seen:
            duplicates.append(spec.name)
        seen.add(spec.name)
    return duplicates


# --- rule 5: __all__ is a sorted tuple of defined names ---------------------------------------------


def is_public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def _bound_names(tree: ast.Module) -> tuple[set[str], bool]:
    """Names the module binds at top level, and whether it may bind others (``*`` import, ``__getattr__``)."""
    names: set[str] = set()
    dynamic = False

    def stores(node: ast.AST) -> set[str]:
        return {name.id for name in ast.walk(node) if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store)}

    def bind(statements: Iterable[ast.stmt]) -> None:
        nonlocal dynamic
        for statement in statements:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(statement.name)
                dynamic |= statement.name == "__getattr__"
            elif isinstance(statement, ast.Import):
                names.update(alias.asname or alias.name.partition(".")[0] for alias in statement.names)
            elif isinstance(statement, ast.ImportFrom):
                for alias in statement.names:
                    dynamic |= alias.name == "*"
                    names.add(alias.asname or alias.name)
            elif isinstance(statement, ast.If | ast.While):
                bind(statement.body)
                bind(statement.orelse)
            elif isinstance(statement, ast.For | ast.AsyncFor):
                names.update(stores(statement.target))
                bind(statement.body)
                bind(statement.orelse)
            elif isinstance(statement, ast.With | ast.AsyncWith):
                for item in statement.items:
                    if item.optional_vars is not None:
                        names.update(stores(item.optional_vars))
                bind(statement.body)
            elif isinstance(statement, ast.Try):
                bind(statement.body)
                for handler in statement.handlers:
                    bind(handler.body)
                bind(statement.orelse)
                bind(statement.finalbody)
            else:  # a simple statement (a compound one not handled above is read whole: more names, never fewer)
                names.update(stores(statement))

    bind(tree.body)
    return names, dynamic


def all_problems(package_dir: Path) -> list[str]:
    problems: list[str] = []
    for module in read_package(package_dir).values():
        if not is_public(module.name):
            continue
        assignments = [
            statement
            for statement in module.tree.body
            if (isinstance(statement, ast.Assign) and any(_is_all(target) for target in statement.targets))
            or (isinstance(statement, ast.AnnAssign | ast.AugAssign) and _is_all(statement.target))
        ]
        if not assignments:
            problems.append(f"{module.name}: no __all__")
            continue
        if len(assignments) > 1 or isinstance(assignments[0], ast.AugAssign):
            problems.append(f"{module.name}: __all__ must be assigned once")
            continue
        value = assignments[0].value
        if not isinstance(value, ast.Tuple):
            problems.append(f"{module.name}: __all__ is not a tuple (line {assignments[0].lineno})")
            continue
        exported = [element.value for element in value.elts if isinstance(element, ast.Constant)]
        if len(exported) != len(value.elts) or not all(isinstance(name, str) for name in exported):
            problems.append(f"{module.name}: __all__ holds something other than string literals")
            continue
        names = [str(name) for name in exported]
        if names != sorted(names):
            problems.append(f"{module.name}: __all__ is not sorted: {_first_unsorted(names)}")
        if len(set(names)) != len(names):
            problems.append(f"{module.name}: __all__ repeats a name")
        bound, dynamic = _bound_names(module.tree)
        if not dynamic and (undefined := sorted(set(names) - bound)):
            problems.append(f"{module.name}: __all__ names what the module does not define: {undefined}")
    return problems


def _is_all(target: ast.expr) -> bool:
    return isinstance(target, ast.Name) and target.id == "__all__"


def _first_unsorted(names: Sequence[str]) -> str:
    at = next(i for i, (a, b) in enumerate(itertools.pairwise(names)) if a > b)
    return f"{names[at]!r} before {names[at + 1]!r}"


# --- the rules, on speech_async -----------------------------------------------------------------------


def test_only_http_imports_aiohttp_at_run_time() -> None:
    assert aiohttp_outside_http(PACKAGE_DIR) == []


def test_the_client_has_no_import_cycles() -> None:
    cycles = import_cycles(PACKAGE_DIR)
    assert not cycles, "import cycles among the client's modules:\n" + "\n".join(cycles)


def test_no_client_module_imports_the_package_back() -> None:
    assert imports_of_the_package(PACKAGE_DIR) == []


def test_the_emulator_imports_nothing_private_from_the_client() -> None:
    assert emulator_reaching_into_the_client(PACKAGE_DIR) == []


def test_every_emulator_route_has_a_spec() -> None:
    from speech_async.emulator import EmulatorConfig, create_app
    from speech_async.emulator._routes import area_tables

    # Read from the areas' tables rather than route_specs(), which itself refuses repeated names.
    specs = [route.spec for table in area_tables() for route in table]
    assert specs, "the route registry is empty"
    assert duplicate_spec_names(specs) == []
    assert routes_without_a_spec(create_app(EmulatorConfig(recognizer="scripted")), specs) == []


def test_public_modules_export_a_sorted_tuple() -> None:
    assert all_problems(PACKAGE_DIR) == []


def test_public_modules_define_what_they_export() -> None:
    # Imported, not read: this also covers names a module provides through __getattr__.
    for name in sorted(read_package(PACKAGE_DIR)):
        if is_public(name):
            module = importlib.import_module(name)
            assert [item for item in module.__all__ if not hasattr(module, item)] == [], name


def test_the_public_modules_the_architecture_names_are_checked() -> None:
    public = {name for name in read_package(PACKAGE_DIR) if is_public(name)}
    assert {
        "speech_async",
        "speech_async.cli",
        "speech_async.demo",
        "speech_async.emulator",
        "speech_async.emulator.pytest_plugin",
    } <= public


# --- each checker catches what it is for ---------------------------------------------------------


def write_package(root: Path, files: Mapping[str, str]) -> Path:
    """Writes ``pkg/...`` files under ``root`` (parents get an empty ``__init__.py``); returns ``root/pkg``."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        for parent in path.relative_to(root).parents:
            if parent != Path() and not (root / parent / "__init__.py").exists():
                (root / parent / "__init__.py").write_text("", encoding="utf-8")
    return root / "pkg"


def test_checker_finds_aiohttp_outside_http(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {
            "pkg/_http.py": "import aiohttp\n",
            "pkg/_client.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import aiohttp\n",
            "pkg/_retry.py": "def backoff():\n    from aiohttp import ClientError\n",
            "pkg/_models/_fast.py": "import aiohttp.web\n",
            "pkg/_options.py": "import typing\nif typing.TYPE_CHECKING:\n    pass\nelse:\n    import aiohttp\n",
            "pkg/emulator/_app.py": "from aiohttp import web\n",
            "pkg/cli/run.py": "import aiohttp\n",
            "pkg/webhooks.py": "from aiohttp import web\n",
            "pkg/_webhooks.py": "from aiohttp import web\n",
        },
    )
    assert aiohttp_outside_http(package) == [
        "pkg._models._fast (line 1) imports aiohttp.web",
        "pkg._options (line 5) imports aiohttp",
        "pkg._retry (line 2) imports aiohttp",
        "pkg._webhooks (line 1) imports aiohttp",
    ]


def test_checker_finds_cycles_through_type_checking_functions_and_packages(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from ._a import A\nfrom ._c import C\n",
            # _a -> _b at run time, _b -> _a only for the type checker: still a cycle.
            "pkg/_a.py": "from . import _b\n",
            "pkg/_b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ._a import A\n",
            # _c -> _sub (its __init__ re-exports) -> _sub._x -> _c, the last in a function.
            "pkg/_c.py": "from ._sub import X\n",
            "pkg/_sub/__init__.py": "from ._x import X\n",
            "pkg/_sub/_x.py": "def f():\n    from .._c import C\n",
            # A submodule importing its sibling is no cycle with the package that loads them both.
            "pkg/_other/__init__.py": "from ._p import P\nfrom ._q import Q\n",
            "pkg/_other/_p.py": "P = 1\n",
            "pkg/_other/_q.py": "from ._p import P\nfrom pkg._other import _p\nfrom . import _p\n",
            # Neither are imports of other layers, nor of the top package.
            "pkg/_d.py": "import pkg.emulator\nfrom . import _a\n",
            "pkg/emulator/__init__.py": "from .._d import D\n",
        },
    )
    assert import_cycles(package) == [
        "pkg._a -> pkg._b -> pkg._a: pkg._a (line 1) imports pkg._b, pkg._b (line 3) imports pkg._a",
        "pkg._c -> pkg._sub -> pkg._sub._x -> pkg._c: pkg._c (line 1) imports pkg._sub, "
        "pkg._sub (line 1) imports pkg._sub._x, pkg._sub._x (line 2) imports pkg._c",
    ]


def test_checker_finds_imports_of_the_package_back(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from ._a import A\n",
            "pkg/_a.py": "import pkg\nfrom . import _b\nimport pkg._b\nA = 1\n",
            "pkg/_b.py": "from pkg import A\n",
            "pkg/_m/_c.py": "from .. import A\nfrom .. import _b\n",
            "pkg/emulator/_x.py": "import pkg\n",
        },
    )
    assert imports_of_the_package(package) == [
        "pkg._a (line 1) imports pkg itself",
        "pkg._b (line 1) imports pkg itself",
        "pkg._m._c (line 1) imports pkg itself",
    ]


def test_checker_finds_the_emulator_reaching_into_the_client(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {
            "pkg/_http.py": "",
            "pkg/emulator/__init__.py": "from ._app import create_app\nfrom pkg import KeyCredential\n",
            "pkg/emulator/_app.py": "from pkg._http import send\nfrom ._b import B\nfrom .areas import fast\n",
            "pkg/emulator/_b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg._http\n",
            "pkg/emulator/areas/fast.py": "from ... import _http\nfrom ...cli import main\nfrom .. import _b\n",
        },
    )
    assert emulator_reaching_into_the_client(package) == [
        "pkg.emulator._app (line 1) imports the client's private pkg._http",
        "pkg.emulator._b (line 3) imports the client's private pkg._http",
        "pkg.emulator.areas.fast (line 1): relative import of pkg._http leaves pkg.emulator",
        "pkg.emulator.areas.fast (line 1) imports the client's private pkg._http",
        "pkg.emulator.areas.fast (line 2): relative import of pkg.cli leaves pkg.emulator",
    ]


@dataclass(frozen=True)
class FakeSpec:
    name: str
    method: str
    paths: tuple[str, ...]


def test_checker_finds_routes_without_a_spec_and_repeated_names() -> None:
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        raise NotImplementedError

    app.router.add_get("/locales", handler, allow_head=False)
    app.router.add_get("/health", handler)
    app.router.add_post("/speech/recognition/{mode:[a-z]+}/cognitiveservices/v1", handler)
    app.router.add_post("/stt/speech/recognition/{mode}/cognitiveservices/v1", handler)
    app.router.add_delete("/transcriptions/{id}", handler)
    app.router.add_get(f"{ADMIN_PREFIX}requests", handler)
    specs = [
        FakeSpec("locales", "GET", ("/locales",)),
        FakeSpec("health", "GET", ("/health",)),
        FakeSpec("short_audio", "post", ("/speech/recognition/{mode}/cognitiveservices/v1",)),
        FakeSpec("locales", "GET", ("/transcriptions/{id}",)),
    ]
    assert routes_without_a_spec(app, specs) == [
        "HEAD /health",
        "POST /stt/speech/recognition/{mode}/cognitiveservices/v1",
        "DELETE /transcriptions/{id}",
    ]
    assert duplicate_spec_names(specs) == ["locales"]


def test_checker_finds_bad_all(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from ._a import A, B\n__all__ = ('A', 'B')\n",
            "pkg/listed.py": "A = 1\n__all__ = ['A']\n",
            "pkg/unsorted.py": "A = B = 1\n__all__ = ('B', 'A')\n",
            "pkg/constants_first.py": "A = main = VALUE = 1\n__all__ = ('VALUE', 'A', 'main')\n",
            "pkg/undefined.py": "def f(): pass\n__all__ = ('f', 'g')\n",
            "pkg/missing.py": "A = 1\n",
            "pkg/twice.py": "A = 1\n__all__ = ('A',)\n__all__ += ('B',)\n",
            "pkg/fine.py": "import os.path\nfrom typing import Final\ntry:\n    C: Final = 1\nexcept ImportError:\n"
            "    D = 2\nclass Z: pass\n__all__ = ('C', 'D', 'Final', 'Z', 'os')\n",
            "pkg/lazy.py": "def __getattr__(name): ...\n__all__ = ('Anything',)\n",
            "pkg/_a.py": "A = B = 1\n",
            "pkg/_private/open.py": "",
            "pkg/__main__.py": "",
        },
    )
    assert all_problems(package) == [
        "pkg.constants_first: __all__ is not sorted: 'VALUE' before 'A'",
        "pkg.listed: __all__ is not a tuple (line 2)",
        "pkg.missing: no __all__",
        "pkg.twice: __all__ must be assigned once",
        "pkg.undefined: __all__ names what the module does not define: ['g']",
        "pkg.unsorted: __all__ is not sorted: 'B' before 'A'",
    ]
