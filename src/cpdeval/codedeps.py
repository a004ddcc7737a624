"""The source files a stage is made of, so that the workflow re-runs a rule when its code changes.

Every rule runs the same script (``src/cpdeval/runner.py``), whose text does not change when the library
does, so Snakemake's own code trigger never sees an edit to a stage module. A rule therefore lists its code
among its inputs: ``code=stage_code("impact_analysis")`` (helper in ``rules/common.smk``) gives the stage module
holding the rule's function (``cpdeval.stages.impact:impact_analysis``) and every ``cpdeval`` module it imports,
at any depth, including the imports inside functions (stage modules import lazily). When one of those files is newer than the rule's
outputs, Snakemake runs the rule again and says why ("Updated input files: src/cpdeval/surveys.py").

The imports are read from the source (:mod:`ast`), nothing is imported. With ``module:function``, only that
function's imports are followed inside the module (plus its module-level ones): a stage module holds the
functions of several rules, and an edit to one of them should not re-run the others.

Parsing every module costs about 0.6 s each time Snakemake builds its DAG (a no-op run included), so each
module's imports are kept in ``.snakemake/cpdeval-codedeps.json`` beside the project, keyed by the file's size
and modification time and by the list of source files (a module added or removed can change what a
``from . import name`` means): an unchanged tree is answered from the cache; a changed file is parsed again.
A cache that cannot be read or written is ignored (it only saves time).
"""

from __future__ import annotations

import ast
import json
import os
from functools import lru_cache
from pathlib import Path

__all__ = ["module_file", "stage_files"]

SRC = Path(__file__).resolve().parent.parent
PACKAGE = "cpdeval"


def module_file(name: str, src: Path = SRC) -> Path | None:
    """``src/a/b.py`` or ``src/a/b/__init__.py`` for module ``a.b`` (None if it is not a source file)."""
    base = src.joinpath(*name.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _with_parents(name: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c`` (importing a module runs its packages' ``__init__`` too)."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _imported(node: ast.AST, module: str, is_package: bool, src: Path) -> set[str]:
    """The ``cpdeval`` modules named by the import statements in ``node``."""
    found: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            found |= {a.name for a in n.names if a.name.split(".")[0] == PACKAGE}
        elif isinstance(n, ast.ImportFrom):
            if n.level:
                package = module if is_package else module.rpartition(".")[0]
                base_parts = package.split(".")[: len(package.split(".")) - (n.level - 1)]
                base = ".".join(base_parts + ([n.module] if n.module else []))
            else:
                base = n.module or ""
            if base.split(".")[0] != PACKAGE:
                continue
            found.add(base)
            # ``from . import figures``: the names may be modules themselves
            found |= {f"{base}.{a.name}" for a in n.names if module_file(f"{base}.{a.name}", src)}
    return {m for name in found for m in _with_parents(name) if module_file(m, src)}


def _function_nodes(tree: ast.Module, function: str | None) -> list[ast.AST]:
    """The parts of a module that ``function`` runs: the module-level statements, the function, and the
    module's functions and classes these name (followed until nothing new is named)."""
    if function is None:
        return [tree]
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    if function not in defs:
        raise ValueError(f"no function {function} at the top level of its module")
    nodes = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    todo, chosen = [defs[function], *nodes], {function}
    while todo:
        for n in ast.walk(todo.pop()):
            if isinstance(n, ast.Name) and n.id in defs and n.id not in chosen:
                chosen.add(n.id)
                todo.append(defs[n.id])
    return nodes + [defs[name] for name in sorted(chosen)]


CACHE_VERSION = 1


class _Cache:
    """Each module's imports, as last parsed, in ``<project>/.snakemake/cpdeval-codedeps.json``."""

    def __init__(self, src: Path):
        self.path = src.parent / ".snakemake" / "cpdeval-codedeps.json"
        files = sorted(src.rglob("*.py"))
        self.tree = [str(f.relative_to(src)) for f in files]
        self.entries: dict = {}
        self.dirty = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") == CACHE_VERSION and data.get("tree") == self.tree:
                self.entries = data["entries"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass

    @staticmethod
    def stamp(path: Path) -> list[int]:
        st = path.stat()
        return [st.st_size, st.st_mtime_ns]

    def get(self, key: str, path: Path) -> frozenset[str] | None:
        hit = self.entries.get(key)
        if hit and hit.get("stamp") == self.stamp(path):
            return frozenset(hit["deps"])
        return None

    def put(self, key: str, path: Path, deps: frozenset[str]) -> None:
        self.entries[key] = {"stamp": self.stamp(path), "deps": sorted(deps)}
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": CACHE_VERSION, "tree": self.tree, "entries": self.entries}),
                           encoding="utf-8")
            os.replace(tmp, self.path)
            self.dirty = False
        except OSError:
            pass


@lru_cache(maxsize=None)
def _cache(src: Path) -> _Cache:
    return _Cache(src)


@lru_cache(maxsize=None)
def _deps(module: str, function: str | None, src: Path) -> frozenset[str]:
    path = module_file(module, src)
    if path is None:
        raise ValueError(f"{module} is not a module under {src}")
    cache, key = _cache(src), f"{module}:{function or ''}"
    hit = cache.get(key, path)
    if hit is not None:
        return hit
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _function_nodes(tree, function):
        found |= _imported(node, module, is_package, src)
    cache.put(key, path, frozenset(found))
    return frozenset(found)


def stage_files(target: str, src: Path = SRC) -> list[Path]:
    """Source files of a stage: ``"cpdeval.surveys"`` or ``"cpdeval.stages.ingest:ingest_bookings"``, with every
    ``cpdeval`` module they import at any depth (and the packages' ``__init__`` files), sorted."""
    module, _, function = target.partition(":")
    src = Path(src).resolve()
    seen = set(_with_parents(module))
    todo = [m for m in _deps(module, function or None, src) if m not in seen]
    seen |= set(todo)
    while todo:
        for dep in _deps(todo.pop(), None, src):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    _cache(src).save()
    return sorted(p for p in (module_file(m, src) for m in seen) if p is not None)
