"""What a chapter document needs to read its derived tables, and nothing heavy.

Chapters (``reports/*.qmd``) receive parameters from the render rule: ``year``, ``title``,
``disclosure_min_count`` and ``inputs`` (name -> derived file). As Quarto's Jupyter engine does, they
arrive as variables assigned after the cell tagged ``parameters``; the chapter gathers them with
:func:`params`. Chapters load tables with :func:`table`, insert saved figures with :func:`figure`, and
publish tables with :func:`cpdeval.tables.publish_table`; they compute nothing heavy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping


#: The parameters every chapter declares in its ``parameters`` cell (and the render rule passes).
PARAMETERS = ("year", "title", "disclosure_min_count", "inputs")


def params(**values: Any) -> dict:
    """The chapter's parameters as one mapping (call with the variables of the ``parameters`` cell)."""
    missing = [k for k in PARAMETERS if k not in values]
    if missing:
        raise TypeError(f"chapter parameters missing: {', '.join(missing)}")
    return dict(values)


def _path(params: Mapping[str, Any], name: str) -> Path:
    try:
        return Path(params["inputs"][name])
    except KeyError:
        known = ", ".join(sorted(params.get("inputs", {})))
        raise KeyError(f"this chapter has no input named {name!r} (its inputs: {known}); "
                       "add it to CHAPTER_INPUTS in rules/reports.smk") from None


def table(params: Mapping[str, Any], name: str):
    """A derived parquet table named in the chapter's inputs."""
    import polars as pl

    return pl.read_parquet(_path(params, name))


def optional_table(params: Mapping[str, Any], name: str):
    """A derived parquet table the chapter has only in some years (e.g. ``year_on_year``, with earlier years'
    runs named in the config), or None."""
    return table(params, name) if name in (params.get("inputs") or {}) else None


def record(params: Mapping[str, Any], name: str) -> dict:
    """A derived JSON record named in the chapter's inputs."""
    return json.loads(_path(params, name).read_text(encoding="utf-8"))


#: Tables read through another table's contract, or whose contract title is not a reader's name for them.
TABLE_TITLES = {"attainment_ks4": "DfE KS4 performance tables", "attainment_ks2": "DfE KS2 performance tables",
                "schools": "School register (GIAS)", "survey_responses": "Survey responses"}


def sources(params: Mapping[str, Any]) -> dict[str, str]:
    """Earlier reports the chapter cites, key -> the short title a sentence uses (:mod:`cpdeval.citations`)."""
    from .citations import short_titles

    return short_titles(params.get("inputs", {}).get("sources"))


def cite(params: Mapping[str, Any], ref: str) -> str:
    """An earlier report in a sentence: ``"stem_network_2015_16, Figure 5"`` -> its short title, then the part."""
    from .citations import cite as _cite

    return _cite(ref, params.get("inputs", {}).get("sources"))


def table_title(name: str) -> str:
    """A derived or input table in words: its contract's title ("CPD booking export"), never its file name."""
    from .contracts import load_contract

    if name in TABLE_TITLES:
        return TABLE_TITLES[name]
    try:
        return load_contract(name).title
    except (FileNotFoundError, OSError):
        return name.replace("_", " ").capitalize()


def count_phrase(threshold_: int, *, spelled: bool = False):
    """The chapter's ``n_text``: a count for a sentence, as the number ("1,234"; with ``spelled``, one to nine
    in words: "three") or "fewer than T" where a table would show ``c``
    (:func:`cpdeval.disclosure.count_text`)."""
    from .disclosure import count_text
    from .display import count_in_words

    def n_text(n) -> str:
        return count_text(n, threshold_, count_in_words if spelled else None)

    return n_text


def threshold(params: Mapping[str, Any]) -> int:
    """The disclosure threshold the pipeline passed (``thresholds.disclosure_min_count``: no default here)."""
    value = params["disclosure_min_count"]
    if value is None:
        raise ValueError("the chapter was given no disclosure threshold: render it through the pipeline, which "
                         "passes thresholds.disclosure_min_count from the config")
    return int(value)


def provenance_text(params: Mapping[str, Any]) -> str:
    """For readers: when and from how much data the report was built, and how ids were protected (no paths,
    no package list: those are in the analysts' quality report, :func:`provenance_detail`)."""
    prov = record(params, "provenance")
    rows = sum(i["rows"] or 0 for i in prov["inputs"])
    from .display import fmt_date

    return (f"Built on {fmt_date(prov['built_on'])} by the evaluation pipeline (version {prov['packages'].get('cpdeval', '')}) "
            f"from {len(prov['inputs'])} input files holding {rows:,} rows. Every file is recorded with its size and "
            "a fingerprint of its contents, so the figures can be rebuilt from the same files and checked. "
            + key_text(prov.get("pseudonymisation_key")))


def provenance_detail(params: Mapping[str, Any]) -> str:
    """For analysts: build date, configuration files with their hashes, package versions."""
    prov = record(params, "provenance")
    cfgs = ", ".join(f"`{Path(c['path']).name}` (SHA-256 `{c['sha256'][:12]}`)" for c in prov["config_files"]) \
        or "defaults"
    pk = prov["packages"]
    from .display import fmt_date

    return (f"Built on {fmt_date(prov['built_on'])} from configuration {cfgs}, with Python {pk['python']}, "
            + ", ".join(f"{k} {v}" for k, v in pk.items() if k != "python") + ". "
            + key_text(prov.get("pseudonymisation_key")))


def key_text(key: Mapping[str, Any] | None) -> str:
    """A sentence on how participant ids were pseudonymised (never the key itself)."""
    if not key:
        return ""
    if key.get("is_test_key"):
        return ("Participant identifiers in this synthetic year were replaced by keyed hashes made with the "
                "public test key, which protects nothing: never use it for real data.")
    return (f"Participant identifiers were replaced by keyed hashes as soon as they were read (key fingerprint "
            f"{key['fingerprint']}; the key itself is kept outside the project).")


def provenance_table(params: Mapping[str, Any]):
    """The input files a chapter was built from, with rows, bytes and SHA-256 (through the table helper)."""
    import polars as pl

    from .tables import publish_table

    inputs = pl.DataFrame(record(params, "provenance")["inputs"]).with_columns(pl.col("sha256").str.slice(0, 16))
    return publish_table(inputs, columns={
        "path": {"kind": "label", "header": "File"},
        "rows": {"kind": "number", "decimals": 0, "header": "Rows"},
        "bytes": {"kind": "number", "decimals": 0, "header": "Bytes"},
        "sha256": {"kind": "label", "header": "SHA-256 (first 16)"},
    }, threshold=threshold(params))


def figure(params: Mapping[str, Any], name: str, label: str) -> str:
    """Markdown inserting a saved figure (an input of the chapter) with the caption and alt text that
    :func:`cpdeval.figures.save_figure` stored beside it; print it from a cell with ``output: asis`` and
    cross-reference it as ``@<label>``."""
    path = _path(params, name)
    meta = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
    cap = meta["caption"].replace("[", "(").replace("]", ")")
    alt = meta["alt_text"].replace('"', "'")
    return f'![{cap}]({path.resolve().as_posix()}){{#{label} fig-alt="{alt}"}}'


def absent(params: Mapping[str, Any]) -> dict[str, str]:
    """Optional inputs this year does not have: key (``resource_registrations``, ``surveys.subject_leader``) ->
    the words a reader is told (from the provenance record every chapter reads)."""
    rec = record(params, "provenance") if "provenance" in params.get("inputs", {}) else {}
    return {a["input"]: a["what"] for a in rec.get("absent_inputs") or []}


def omit_section() -> str:
    """The line that removes the section a cell prints it in (for a section whose input this year lacks; the
    methods appendix lists what was not supplied)."""
    from .render.builtin import OMIT_SECTION

    return OMIT_SECTION
