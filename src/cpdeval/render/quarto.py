"""Rendering with the Quarto CLI (used when ``quarto`` is on PATH).

One ``quarto render`` call per output format::

    quarto render chapter.qmd --to html -P year:2015-16 --output-dir /abs/out \\
        -M embed-resources:true [--resource-path dirs]

Parameter values are written as YAML scalars (JSON for non-strings), which is
how Quarto reads ``-P key:value``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml
from ..config import safe_yaml

from cpdeval.render.qmd import RenderError

__all__ = ["quarto_command", "render_quarto", "param_value"]


def param_value(value: Any) -> str:
    """A parameter value as Quarto's ``-P key:value`` expects it (YAML)."""
    if isinstance(value, str):
        try:
            if safe_yaml(value) == value:
                return value
        except yaml.YAMLError:
            pass
        return json.dumps(value)
    if value is None or isinstance(value, (bool, int, float, list, dict)):
        return json.dumps(value)
    raise RenderError(f"cannot pass a parameter value of type {type(value).__name__} to quarto")


def quarto_command(qmd: str | Path, out_dir: str | Path, *, fmt: str = "html",
                   params: Mapping[str, Any] | None = None, quarto: str = "quarto",
                   resource_dirs: Iterable[str | Path] | None = None) -> list[str]:
    """The ``quarto render`` command line for one document and format."""
    cmd = [quarto, "render", str(Path(qmd)), "--to", fmt]
    for key, value in (params or {}).items():
        if not isinstance(key, str) or not key or ":" in key:
            raise RenderError(f"invalid parameter name {key!r}")
        cmd += ["-P", f"{key}:{param_value(value)}"]
    cmd += ["--output-dir", str(Path(out_dir).resolve())]
    if fmt == "html":
        cmd += ["-M", "embed-resources:true"]
    dirs = [str(Path(d).resolve()) for d in (resource_dirs or [])]
    if dirs:
        cmd += ["--resource-path", os.pathsep.join(["."] + dirs)]
    return cmd


def render_quarto(qmd: str | Path, out_dir: str | Path, *, params: Mapping[str, Any] | None = None,
                  formats: Sequence[str] = ("html",), resource_dirs: Iterable[str | Path] | None = None,
                  quarto: str | None = None) -> list[Path]:
    """Render with the quarto CLI; returns the output files (checked to exist)."""
    exe = quarto or shutil.which("quarto")
    if not exe:
        raise RenderError("the quarto command is not on PATH")
    qmd = Path(qmd).resolve()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        cmd = quarto_command(qmd, out, fmt=fmt, params=params, quarto=exe, resource_dirs=resource_dirs)
        proc = subprocess.run(cmd, cwd=qmd.parent, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
            raise RenderError(f"{qmd}: quarto render --to {fmt} failed (exit {proc.returncode}):\n{tail}")
        target = out / f"{qmd.stem}.{fmt}"
        if not target.exists():
            raise RenderError(f"{qmd}: quarto reported success but {target} was not written")
        written.append(target)
    return written
