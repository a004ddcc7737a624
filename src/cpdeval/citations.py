"""Earlier reports, cited by title: ``config/sources.yaml`` (or the file a config names under ``report.sources``).

A comparison, figure or sentence names a source as ``"<key>, <part>"`` (``"stem_network_2015_16, Figure 5"``);
:func:`cite` turns it into the words a reader sees ("the 2015-16 evaluation of the regional programme
(Figure 5)"). No internal name of a source ever reaches a report.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from . import CONFIG_DIR

DEFAULT_SOURCES = CONFIG_DIR / "sources.yaml"


@lru_cache(maxsize=8)
def load_sources(path: str | Path | None = None) -> dict[str, dict]:
    """key -> {title, short, authors} of every earlier report the project cites."""
    from .config import load_yaml

    return dict(load_yaml(path or DEFAULT_SOURCES).get("sources") or {})


def short_titles(path: str | Path | None = None) -> dict[str, str]:
    return {k: v.get("short") or v["title"] for k, v in load_sources(path).items()}


def cite(ref: str, path: str | Path | None = None) -> str:
    """``"<key>, <part>"`` in words: the source's short title, then the part in brackets."""
    key, _, part = (x.strip() for x in ref.partition(","))
    titles = short_titles(path)
    if key not in titles:
        raise KeyError(f"no source report {key!r} in {path or DEFAULT_SOURCES} (it has: {', '.join(sorted(titles))})")
    return f"{titles[key]} ({part})" if part else titles[key]
