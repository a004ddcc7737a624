"""Next year's configuration from this year's (``cpdeval new-year 2019-20 --from config/2018-19.yaml``).

The new file is this year's file with every year moved on: each year label (``2018-19``) in values, paths and
comments is shifted by the same number of years, so the delivery years, the reporting year, the attainment years,
the outcome year, the title and the per-year input folders (``data/raw/2018-19/...``) all move together and the
comments stay where the analyst wrote them. A label without the year (``synthetic``) gets the new year appended,
and so does its raw-data folder, so the new year never writes over or reads last year's inputs.

Then the measure map decides what the attainment chapter can have: academic years without published results
(the cancelled 2020 and 2021 exams) or beyond the map are dropped from ``years.attainment``, and an outcome year
among them falls back to the last year with results. The result is checked like any config before it is written,
and the caller is told what changed and which inputs to collect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .calendar import label_start, year_label
from .config import safe_yaml, validate_config
from .errors import ConfigError

# a year label: 2018-19 (the second part is the next year), not inside a longer number
_YEAR = re.compile(r"(?<!\d)(\d{4})-(\d{2})(?!\d)")


@dataclass
class NewYear:
    """The new configuration's text and what a person must know about it."""

    text: str
    label: str
    reporting: str
    changes: list[str] = field(default_factory=list)


def shift_year_labels(text: str, years: int, *, keep_configs_other_than: str | None = None) -> str:
    """Every year label in ``text`` moved on by ``years`` ("2018-19" -> "2019-20" for 1); other numbers that
    look alike (2018-20, 20180901) are left alone, and so is a reference to another year's config file
    (``config/2015-16.yaml`` when ``keep_configs_other_than`` is "2018-19": that file does not move)."""
    def move(m: re.Match) -> str:
        start, end = int(m.group(1)), int(m.group(2))
        if (start + 1) % 100 != end:
            return m.group(0)
        if (keep_configs_other_than and m.group(0) != keep_configs_other_than
                and re.match(r"\.ya?ml\b", text[m.end():m.end() + 5]) and text[:m.start()].endswith("config/")):
            return m.group(0)
        return year_label(start + years)

    return _YEAR.sub(move, text)


def _replace_value_line(text: str, section: str, key: str, value: str, *, flow_list: bool = False) -> str:
    """Rewrite the value of ``key:`` inside the top-level ``section`` on its own line, keeping its comment: a
    one-line flow list ``[...]`` when ``flow_list``, else a single word."""
    pattern = rf"^(\s+{key}:\s*)" + (r"\[[^\]]*\]" if flow_list else r"\S+") + r"(.*)$"
    lines = text.split("\n")
    inside = False
    for i, line in enumerate(lines):
        if re.match(rf"^{section}:", line):
            inside = True
            continue
        if inside and re.match(r"^\S", line):
            break
        m = re.match(pattern, line) if inside else None
        if m:
            lines[i] = f"{m.group(1)}{value}{m.group(2)}"
            return "\n".join(lines)
    raise ConfigError(f"{section}.{key} is not written as " + ("a one-line list [a, b, ...]" if flow_list else
                                                               "a value on a line of its own") + "; edit it by hand")


def _replace_list_line(text: str, section: str, key: str, values: list[str]) -> str:
    """Rewrite ``key: [...]`` (a flow list on one line) inside the top-level ``section``, keeping its comment."""
    return _replace_value_line(text, section, key, f"[{', '.join(values)}]", flow_list=True)


def _link_last_year(text: str, old: dict, old_label: str) -> tuple[str, str]:
    """Name last year's derived folder in ``previous_years`` (after the years it named itself) and put the
    "trends" chapter, which sets the years side by side, in ``render.chapters``."""
    folder = f"data/derived/{old_label}"
    previous = [*(str(f) for f in old.get("previous_years") or []), folder]
    line = f"previous_years: [{', '.join(previous)}]"
    if re.search(r"(?m)^previous_years:", text):
        text = re.sub(r"(?m)^previous_years:.*$", line, text, count=1)
    else:
        text = re.sub(r"(?m)^years:", f"{line}   # earlier years' runs, beside this one in the trends chapter\n\nyears:",
                      text, count=1)
    chapters = [str(c) for c in (old.get("render") or {}).get("chapters") or []]
    if "trends" not in chapters:
        text = _replace_list_line(text, "render", "chapters", [*chapters, "trends"])
    return text, (f"previous_years: {', '.join(previous)} (run {old_label} first); the trends chapter sets "
                  "the years side by side")


def years_with_results(measure_map: dict, key_stage: str = "ks4") -> set[str]:
    """Academic years some measure of the key stage has a published column for (the measure map's years)."""
    block = measure_map.get(key_stage) or {}
    return {y for m in (block.get("measures") or {}).values() for y in m["columns"]}


def next_year(text: str, new_year: str, *, measure_map: dict | None = None, root: str | Path | None = None) -> NewYear:
    """Next year's configuration text from this year's ``text`` (see the module docstring)."""
    from .ingest.performance import load_measure_map

    old = safe_yaml(text)
    if not isinstance(old, dict) or "years" not in old or "reporting" not in (old.get("years") or {}):
        raise ConfigError("the configuration to start from has no years.reporting")
    if not _YEAR.fullmatch(new_year) or (int(new_year[:4]) + 1) % 100 != int(new_year[5:]):
        raise ConfigError(f"the new reporting year must be written like 2019-20, not {new_year!r}")
    reporting = str(old["years"]["reporting"])
    shift = label_start(new_year) - label_start(reporting)
    if shift <= 0:
        raise ConfigError(f"the configuration already reports on {reporting}; the new year ({new_year}) must be "
                          "later")
    label = str(old["year"])
    new = shift_year_labels(text, shift, keep_configs_other_than=label)
    changes = [f"every year moved on by {shift} ({reporting} -> {new_year}), in values, paths and comments"]
    if _YEAR.search(label) is None:
        # a label without a year (e.g. "synthetic"): give the new year its own label and raw-data folder
        new_label = f"{label}-{new_year}"
        new = re.sub(rf"(?m)^year:(\s*)\"?{re.escape(label)}\"?", rf"year:\g<1>{new_label}", new, count=1)
        new = re.sub(rf"(data/raw/){re.escape(label)}(?=[/\s\"']|$)", rf"\g<1>{new_label}", new, flags=re.M)
        changes.append(f"label {label} -> {new_label}; inputs under data/raw/{label}/ now under "
                       f"data/raw/{new_label}/")
    else:
        new_label = shift_year_labels(label, shift)

    new, linked = _link_last_year(new, old, label)
    changes.append(linked)
    cfg = safe_yaml(new)
    measure_map = measure_map if measure_map is not None else load_measure_map()
    with_results = years_with_results(measure_map)
    attainment = [str(y) for y in (cfg["years"].get("attainment") or [])]
    kept = [y for y in attainment if y in with_results]
    if kept != attainment:
        dropped = [y for y in attainment if y not in with_results]
        why = {y: (measure_map.get("ks4", {}).get("no_results", {}).get(y) or "not in the measure map yet")
               for y in dropped}
        new = _replace_list_line(new, "years", "attainment", kept)
        changes.append("years.attainment: left out " + "; ".join(f"{y} ({w})" for y, w in why.items()))
    outcome = str((cfg.get("attainment") or {}).get("outcome_year") or "") or None
    if outcome and outcome not in kept and kept:
        new = _replace_value_line(new, "attainment", "outcome_year", kept[-1])
        changes.append(f"attainment.outcome_year: {outcome} has no results, so the chapter reports on "
                       f"{kept[-1]}, the last year with results")
    if not kept and "attainment" in (cfg.get("render") or {}).get("chapters", []):
        changes.append("no attainment year with results is left: take the attainment chapter out of "
                       "render.chapters or add the years by hand")
    validate_config(safe_yaml(new), f"the configuration for {new_year}", root)
    return NewYear(text=new, label=new_label, reporting=new_year, changes=changes)


def inputs_to_collect(old_text: str, new: NewYear, root: str | Path) -> dict[str, list[tuple[str, str, str | None]]]:
    """The new year's inputs as ``(key, file, last year's file)``, in three lists: ``new`` (nothing like it last
    year: this year's bookings, the newest results), ``again`` (read last year from another path: a fresh
    export, or last year's file copied) and ``same`` (the very file last year read: check it is still current)."""
    from .config import RunConfig

    def inputs(text):
        data = safe_yaml(text)
        validate_config(data, "configuration", root)
        return RunConfig(data=data, root=Path(root)).configured_inputs()

    before = dict(inputs(old_text))
    out: dict[str, list] = {"new": [], "again": [], "same": []}
    for key, f in inputs(new.text):
        last = before.get(key)
        out["new" if last is None else "same" if last == f else "again"].append((key, f, last))
    return out
