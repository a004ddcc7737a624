"""Reading survey exports: a survey tool's wide file -> validated long responses.

Each instrument is defined in ``schemas/instruments/<name>.yaml`` (respondent columns, items, scales,
multi-select options). The definition is turned into a contract for the wide file, so a respondent row
with an answer that is not a label of the item's scale is quarantined with the rule it broke, exactly as
other inputs are. Accepted rows are reshaped to one row per respondent and item
(``schemas/survey_responses.yaml``). Free-text answers are not carried forward: they may hold personal
data; coded reasons come in through the separate coded-responses input.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl
from ..config import safe_yaml

from .. import SCHEMAS_DIR
from ..contracts import (Contract, IngestResult, coerce, contract_from_dict, load_contract, map_source_columns,
                         reconcile, validate)

INSTRUMENTS_DIR = SCHEMAS_DIR / "instruments"


@dataclass(frozen=True)
class Instrument:
    name: str
    title: str
    definition: dict
    scales: dict

    @property
    def items(self) -> list[dict]:
        return list(self.definition.get("items") or [])

    @property
    def multi_select(self) -> list[dict]:
        return list(self.definition.get("multi_select") or [])

    def scale(self, item: dict) -> dict:
        return self.scales[item["scale"]]

    def item_labels(self, item: dict) -> list[str]:
        scale = self.scale(item)
        return [str(x) for x in scale["levels"]] + [str(x) for x in scale.get("not_substantive") or []]


@lru_cache(maxsize=None)
def load_scales(folder: str | None = None) -> dict:
    with (Path(folder or INSTRUMENTS_DIR) / "scales.yaml").open(encoding="utf-8") as fh:
        return safe_yaml(fh)


def load_instrument(name: str, folder: str | Path | None = None) -> Instrument:
    folder = Path(folder or INSTRUMENTS_DIR)
    path = folder / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.yaml") if p.stem != "scales")
        raise KeyError(f"no survey instrument '{name}' in {folder} (known: {', '.join(known)})")
    with path.open(encoding="utf-8") as fh:
        definition = safe_yaml(fh)
    scales = load_scales(str(folder))
    for item in definition.get("items") or []:
        if item["scale"] not in scales:
            raise KeyError(f"{path}: item {item['id']} uses unknown scale {item['scale']}")
    return Instrument(name=definition["name"], title=definition.get("title", name), definition=definition,
                      scales=scales)


def list_instruments(folder: str | Path | None = None) -> list[str]:
    folder = Path(folder or INSTRUMENTS_DIR)
    return sorted(p.stem for p in folder.glob("*.yaml") if p.stem != "scales")


def wide_contract(inst: Instrument) -> Contract:
    """The contract of an instrument's wide export, built from its definition."""
    r = inst.definition["respondent"]
    cols = [
        {"name": "respondent_id", "source": r["id"], "dtype": "str", "nullable": False},
        {"name": "submitted", "source": r["submitted"], "dtype": "date", "required": False,
         "format": r.get("submitted_format", "%d/%m/%Y %H:%M")},
        {"name": "role", "source": r["role"], "dtype": "str", "required": False,
         **({"allowed": inst.definition["roles"]} if inst.definition.get("roles") else {})},
        {"name": "urn", "source": r.get("urn", "School URN"), "dtype": "int", "required": False,
         "min": 100000, "max": 999999},
        {"name": "activity_id", "source": r.get("activity", "Activity Code"), "dtype": "str", "required": False},
    ]
    for item in inst.items:
        cols.append({"name": f"item__{item['id']}", "source": item["column"], "dtype": "str",
                     "allowed": inst.item_labels(item), "description": item["text"]})
    for q in inst.multi_select:
        for opt in q["options"]:
            cols.append({"name": f"multi__{q['id']}__{opt['id']}", "source": opt["column"], "dtype": "str",
                         "allowed": ["1"], "description": f"{q['text']}: {opt['text']}"})
    return contract_from_dict({"name": f"survey_{inst.name}", "title": inst.title, "kind": "raw",
                               "reader": "surveys", "key": ["respondent_id"], "columns": cols,
                               "source_format": {"encoding": "utf-8"}})


def to_long(accepted: pl.DataFrame, inst: Instrument) -> pl.DataFrame:
    """Reshape accepted wide rows to one row per respondent and answered item."""
    id_cols = ["respondent_id", "submitted", "role", "urn", "activity_id"]
    parts = []
    if inst.items:
        item_cols = [f"item__{i['id']}" for i in inst.items]
        long = accepted.select(id_cols + item_cols).unpivot(
            index=id_cols, on=item_cols, variable_name="item_id", value_name="response"
        ).filter(pl.col("response").is_not_null())
        not_subst = {}
        for item in inst.items:
            not_subst[f"item__{item['id']}"] = [str(x) for x in inst.scale(item).get("not_substantive") or []]
        kind = pl.lit("substantive")
        for col, codes in not_subst.items():
            if codes:
                kind = pl.when((pl.col("item_id") == col) & pl.col("response").is_in(codes)).then(
                    pl.lit("not_substantive")).otherwise(kind)
        parts.append(long.with_columns(kind.alias("response_kind"),
                                       pl.col("item_id").str.strip_prefix("item__")))
    for q in inst.multi_select:
        opt_cols = [f"multi__{q['id']}__{o['id']}" for o in q["options"]]
        answered = accepted.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in opt_cols]))
        long = answered.select(id_cols + opt_cols).unpivot(
            index=id_cols, on=opt_cols, variable_name="item_id", value_name="response")
        parts.append(long.with_columns(
            pl.col("item_id").str.strip_prefix("multi__").str.replace("__", ":", literal=True),
            pl.when(pl.col("response") == "1").then(pl.lit("1")).otherwise(pl.lit("0")).alias("response"),
            pl.when(pl.col("response") == "1").then(pl.lit("ticked")).otherwise(pl.lit("not_ticked"))
            .alias("response_kind"),
        ))
    target = load_contract("survey_responses")
    if not parts:
        return pl.DataFrame(schema=target.polars_schema)
    out = pl.concat(parts, how="vertical_relaxed").with_columns(pl.lit(inst.name).alias("instrument"))
    return out.select([pl.col(c.name).cast(c.polars_dtype) for c in target.columns])


def read_survey(path: str, instrument: str | Instrument,
                sheet: str | int | None = None) -> tuple[IngestResult, pl.DataFrame]:
    """Read one survey export (CSV, or an .xlsx ``sheet``, default the first). Returns the wide ingest result
    (for quarantine and reconciliation) and the long responses of the accepted respondents."""
    from .csvread import read_text_csv

    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    contract = wide_contract(inst)
    raw = read_text_csv(path, encoding="utf-8", sheet=sheet)
    mapped = map_source_columns(raw, contract, str(path))
    typed, pre_q = coerce(mapped, contract, str(path))
    typed = typed.with_columns(pl.lit(str(path)).alias("source_file"))
    accepted, quarantine = validate(typed, contract, pre_quarantine=pre_q)
    result = IngestResult(accepted, quarantine, reconcile({str(path): raw.height}, accepted, quarantine,
                                                          contract.name))
    result.check_balanced()
    return result, to_long(accepted, inst)
