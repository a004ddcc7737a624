"""The source files of a stage, which rules list as inputs so that a code change re-runs them."""

from __future__ import annotations

import textwrap

import pytest

from cpdeval.codedeps import SRC, stage_files


def names(paths, src=SRC):
    return {p.relative_to(src).as_posix() for p in paths}


def test_a_stage_module_with_what_it_imports_lazily_and_its_packages():
    files = names(stage_files("cpdeval.stages.impact:impact_analysis"))
    assert {"cpdeval/surveys.py", "cpdeval/stats.py", "cpdeval/display.py", "cpdeval/__init__.py",
            "cpdeval/figures.py",                                   # imported inside the drawing functions
            "cpdeval/ingest/__init__.py", "cpdeval/ingest/surveys.py",
            "cpdeval/contracts.py", "cpdeval/ingest/csvread.py"} <= files   # csvread: through contracts
    assert "cpdeval/attainment.py" not in files and "cpdeval/stages/ingest.py" not in files


def test_a_function_of_a_shared_module_follows_only_its_own_imports():
    files = names(stage_files("cpdeval.stages.ingest:ingest_bookings"))
    assert {"cpdeval/stages/ingest.py", "cpdeval/ingest/bookings.py", "cpdeval/pseudonymise.py",
            "cpdeval/contracts.py", "cpdeval/ingest/csvread.py"} <= files
    assert not any(f.startswith("cpdeval/render/") or f == "cpdeval/surveys.py" for f in files)


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def test_relative_absolute_and_helper_imports(tmp_path):
    write(tmp_path, "cpdeval/__init__.py", "ROOT = 1\n")
    write(tmp_path, "cpdeval/sub/__init__.py", "")
    write(tmp_path, "cpdeval/sub/stage.py", """
        import polars
        from .. import ROOT, shared
        from ..util import helper


        def run(job):
            from .lazy import thing
            return _draw(job)


        def _draw(job):
            import cpdeval.drawing
            return DISPATCH


        DISPATCH = {"x": lambda: None}


        def other(job):
            from ..unrelated import nothing
        """)
    for name in ("shared", "util", "drawing", "unrelated", "deep"):
        write(tmp_path, f"cpdeval/{name}.py", "")
    write(tmp_path, "cpdeval/sub/lazy.py", "from ..deep import x\n")
    got = names(stage_files("cpdeval.sub.stage:run", tmp_path), tmp_path)
    assert got == {"cpdeval/__init__.py", "cpdeval/sub/__init__.py", "cpdeval/sub/stage.py", "cpdeval/shared.py",
                   "cpdeval/util.py", "cpdeval/sub/lazy.py", "cpdeval/deep.py", "cpdeval/drawing.py"}
    whole = names(stage_files("cpdeval.sub.stage", tmp_path), tmp_path)
    assert whole == got | {"cpdeval/unrelated.py"}
    with pytest.raises(ValueError, match="no function missing"):
        stage_files("cpdeval.sub.stage:missing", tmp_path)


def _fresh():
    from cpdeval import codedeps

    codedeps._deps.cache_clear()
    codedeps._cache.cache_clear()


def test_the_import_cache_gives_the_parsed_answer_and_sees_edits(tmp_path):
    src = tmp_path / "proj" / "src"
    write(src, "cpdeval/__init__.py", "")
    write(src, "cpdeval/a.py", "def run():\n    from . import b\n")
    write(src, "cpdeval/b.py", "")
    write(src, "cpdeval/c.py", "")
    _fresh()
    cold = names(stage_files("cpdeval.a:run", src), src)
    cache = tmp_path / "proj" / ".snakemake" / "cpdeval-codedeps.json"
    assert cache.is_file() and "cpdeval.a:run" in cache.read_text()
    _fresh()
    assert names(stage_files("cpdeval.a:run", src), src) == cold          # answered from the file
    write(src, "cpdeval/a.py", "def run():\n    from . import b, c\n\n")  # an edit: new size and time
    _fresh()
    assert names(stage_files("cpdeval.a:run", src), src) == cold | {"cpdeval/c.py"}
    write(src, "cpdeval/d.py", "")                                    # a new module: the tree changed
    write(src, "cpdeval/a.py", "def run():\n    from . import b, c\n\n")
    _fresh()
    assert "cpdeval/c.py" in names(stage_files("cpdeval.a:run", src), src)
    cache.write_text("{not json", encoding="utf-8")                       # a broken cache is only ignored
    _fresh()
    assert names(stage_files("cpdeval.a:run", src), src) == cold | {"cpdeval/c.py"}
    assert cache.read_text().startswith("{")
