"""Run one bad-input case through its input's real reader and judge how it ended.

A case ends in one of: ``quarantine`` (the planted record quarantined with the expected rule),
``stop`` (an :class:`~cpdeval.errors.InputError` / ``CpdevalError`` naming the file and the row or column),
``clean`` (a harmless format variation read exactly as the base file), or ``other``: anything else, a
traceback, an unclear error, the wrong outcome or an unbalanced reconciliation. Used by
``tests/test_bad_input_corpus.py`` and ``benchmarks/bad_inputs.py``.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from cpdeval.contracts import DEFAULT_MAX_TEXT_LENGTH, formula_like
from cpdeval.errors import CpdevalError, InputError
from cpdeval.ingest.kinds import read_input

from .make_corpus import Case, base_file


@dataclass
class Outcome:
    case: Case
    ended: str            # quarantine | stop | clean | other
    problems: list[str]
    seconds: float
    message: str = ""     # the stop message, or a summary of the quarantine

    @property
    def ok(self) -> bool:
        return not self.problems and self.ended == self.case.expect

    def describe(self) -> str:
        c = self.case
        return (f"{c.id} ({c.note or c.variant}): expected {c.expect}, ended {self.ended}; "
                + "; ".join(self.problems) + (f"\n  {self.message}" if self.message else ""))


def read(case_or_path, kind: str | None = None, options: dict | None = None):
    if isinstance(case_or_path, Case):
        return read_input(case_or_path.kind, case_or_path.path, **case_or_path.options)
    return read_input(kind, str(case_or_path), **(options or {}))


@lru_cache(maxsize=None)
def _base_summary(path: str, kind: str, options: tuple) -> tuple:
    return summary(read(path, kind, dict(options)))


def summary(result) -> tuple:
    """What a clean variant must share with its base: rows in, accepted, set aside, quarantine rules."""
    recs = result.reconciliation
    return (sum(r.rows_in for r in recs), sum(r.rows_accepted for r in recs), sum(r.rows_set_aside for r in recs),
            tuple(sorted(Counter(zip(result.quarantine["column"].to_list(),
                                     result.quarantine["rule"].to_list())).items())))


def unsafe_text(accepted: pl.DataFrame) -> list[str]:
    """Accepted text that a spreadsheet would run, or longer than the default limit."""
    out = []
    for c, dtype in accepted.schema.items():
        if dtype != pl.Utf8 or c == "source_file":
            continue
        bad = accepted.filter(formula_like(pl.col(c)).fill_null(False))
        if bad.height:
            out.append(f"accepted column {c} holds formula-like text {bad[c][0][:40]!r}")
        if (accepted.select(pl.col(c).str.len_chars().max()).item() or 0) > DEFAULT_MAX_TEXT_LENGTH:
            out.append(f"accepted column {c} holds text longer than {DEFAULT_MAX_TEXT_LENGTH} characters")
    return out


def judge(case: Case) -> Outcome:
    t0 = time.perf_counter()
    problems: list[str] = []
    try:
        result = read(case)
    except CpdevalError as exc:
        seconds = time.perf_counter() - t0
        msg = str(exc)
        if Path(case.path).name not in msg:
            problems.append("the message does not name the file")
        if "Traceback" in msg:
            problems.append("the message holds a traceback")
        if isinstance(exc, InputError):
            if exc.row is None and exc.column is None:
                problems.append("the error names neither a row nor a column")
            if case.expect == "stop" and case.row is not None and exc.row != case.row:
                problems.append(f"the error names row {exc.row}, the broken record is at row {case.row}")
            if case.expect == "stop" and case.column is not None and exc.column != case.column:
                problems.append(f"the error names column {exc.column!r}, not {case.column!r}")
        elif "row" not in msg and "column" not in msg:
            problems.append("the error names neither a row nor a column")
        if case.expect == "stop" and case.rules and not any(r in msg for r in case.rules):
            problems.append(f"the message has none of {case.rules}")
        return Outcome(case, "stop" if not problems else "other", problems, seconds, msg)
    except Exception:  # noqa: BLE001 - the point: any other exception is a reader bug
        tb = traceback.format_exc()
        return Outcome(case, "other", ["unhandled exception (traceback)"], time.perf_counter() - t0,
                       "\n".join(tb.strip().splitlines()[-6:]))
    seconds = time.perf_counter() - t0
    recs, q = result.reconciliation, result.quarantine
    if not recs:
        problems.append("no reconciliation record")
    for r in recs:
        if not r.balanced:
            problems.append(f"reconciliation does not balance: {r.as_dict()}")
    if q.height and q.filter(pl.col("rule").is_null() | (pl.col("rule").str.strip_chars() == "")).height:
        problems.append("a quarantine row has no rule")
    if q.height and q.filter(pl.col("source_file") != case.path).height:
        problems.append("a quarantine row does not name the file")
    problems += unsafe_text(result.accepted)
    rows_in = sum(r.rows_in for r in recs)
    message = f"{rows_in} rows in, {sum(r.rows_accepted for r in recs)} accepted, " \
              f"{sum(r.rows_quarantined for r in recs)} quarantined; rules at the planted row: " \
              + "; ".join(f"{c}: {r}" for c, r in q.filter(pl.col("source_row") == case.row)
                          .select("column", "rule").unique(maintain_order=True).rows()) if case.row else ""
    if case.expect == "clean":
        base = _base_summary(str(base_file(case)), case.kind, tuple(sorted(case.options.items())))
        got = summary(result)
        if got != base:
            problems.append(f"read differently from the base file: {got[:3]} vs {base[:3]} (rows in, accepted, "
                            f"set aside), quarantine {dict(got[3])} vs {dict(base[3])}")
        return Outcome(case, "clean" if not problems else "other", problems, seconds, message)
    if case.data_rows is not None and rows_in != case.data_rows:
        problems.append(f"rows in {rows_in}, but the file has {case.data_rows} data rows")
    hit = q.filter(pl.col("source_row") == case.row) if case.row is not None else q
    if case.column is not None:
        hit = hit.filter(pl.col("column") == case.column)
    if not hit.height:
        problems.append(f"nothing quarantined at row {case.row}" + (f", column {case.column}" if case.column else ""))
    elif case.rules and not hit.filter(pl.any_horizontal([pl.col("rule").str.contains(r, literal=True)
                                                         for r in case.rules])).height:
        problems.append(f"the quarantine rule at row {case.row} has none of {case.rules}: {hit['rule'].to_list()}")
    ended = "quarantine" if q.height else "accepted"
    return Outcome(case, ended if not problems else "other", problems, seconds, message)
