"""A throw-away copy of the project (code and sources only), for end-to-end tests and benchmarks."""

from __future__ import annotations

import shutil
from pathlib import Path

from . import PROJECT_ROOT


def copy_project(dest: str | Path, root: str | Path = PROJECT_ROOT) -> Path:
    """Copy what the workflow needs (no data, no outputs) into ``dest`` and return it."""
    dest, root = Path(dest), Path(root)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "rules", "config", "schemas", "src"):
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    (dest / "reports").mkdir(exist_ok=True)
    for item in (root / "reports").iterdir():
        if item.is_file() and (item.suffix == ".qmd" or item.name.startswith("_")):
            shutil.copy2(item, dest / "reports" / item.name)
    if (root / "reports" / "captions").is_dir():
        shutil.copytree(root / "reports" / "captions", dest / "reports" / "captions")
    return dest
