"""Key findings, drawn from the derived tables: each a sentence with its number and the table or figure behind it.

The executive summary and the conclusions of the assembled report (:mod:`cpdeval.report`) are written from
these facts, never by hand, so a figure in the summary is the figure in the chapter. Two rules keep the words
honest:

* a difference between groups is stated as a difference only when its 95% interval excludes zero; otherwise the
  sentence says the groups were similar (and gives the interval);
* counts follow the same disclosure rule as the tables (:func:`cpdeval.disclosure.count_text`).

Each finding names the label of the table or figure it rests on in the chapter (``tbl-units``); the report
prefixes it with the chapter (``tbl-delivery-units``) so it becomes a working link.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import polars as pl

from . import display as d
from .disclosure import count_text


@dataclass(frozen=True)
class Finding:
    """One key finding: the chapter it comes from, the sentence, the table or figure it rests on."""

    chapter: str
    text: str
    ref: str | None = None          # label(s) in its chapter, e.g. "tbl-units" or "tbl-participants tbl-schools"
    kind: str = "fact"              # fact | difference | similar | caution
    about: str | None = None        # what a difference is of (a measure, as in a sentence), for the conclusions
    sign: int = 0                   # a difference's direction: +1 higher, -1 lower (0: a fact, or similar)

    def markdown(self, *, link: bool = True) -> str:
        """The sentence with a reference to each table or figure it rests on, before the closing full stop."""
        if not (self.ref and link):
            return self.text
        refs = []
        for ref in self.ref.split():
            kind, label = ref.split("-", 1)
            refs.append(f"@{kind}-{self.chapter}-{label}")
        body, stop = (self.text[:-1], ".") if self.text.endswith(".") else (self.text, "")
        return f"{body} ({', '.join(refs)}){stop}"


def _read(path: str | Path | None) -> pl.DataFrame | None:
    return pl.read_parquet(path) if path and Path(path).exists() else None


def _json(path: str | Path | None) -> dict | None:
    return json.loads(Path(path).read_text(encoding="utf-8")) if path and Path(path).exists() else None


def difference_sentence(subject: str, estimate: float, low: float, high: float, unit: str, *,
                        comparison: str) -> tuple[str, str]:
    """A comparison in words and its kind: a difference only when the interval excludes zero, otherwise "much the
    same". Figures get a second decimal when the interval is narrower than one unit, so that an interval that
    excludes zero never reads "0.0 to +0.2"."""
    dp = 2 if max(abs(low), abs(high)) < 1 else 1
    near = min(abs(low), abs(high))
    while (low > 0 or high < 0) and dp < 3 and float(d.round_half_away(near, dp)) == 0:
        dp += 1         # an interval that excludes zero must not read as if it touched it
    ci = f"95% interval {d.fmt_number(low, dp, signed=True)} to {d.fmt_number(high, dp, signed=True)}{unit}"
    if low > 0 or high < 0:
        direction = "higher" if estimate > 0 else "lower"
        return (f"{subject} was {d.fmt_number(abs(estimate), dp)}{unit} {direction} than {comparison} ({ci})",
                "difference")
    return (f"{subject} was much the same as {comparison} (difference {d.fmt_number(estimate, dp, signed=True)}"
            f"{unit}, {ci})", "similar")


def delivery_findings(inputs: Mapping[str, Any], threshold: int) -> list[Finding]:
    out = []
    summary = _json(inputs.get("delivery_summary"))
    reach, yoy, targets = (_read(inputs.get(k)) for k in ("delivery_reach", "delivery_yoy", "delivery_targets"))
    if not summary or reach is None:
        return out
    rep = summary["reporting_year"]
    r = reach.filter(pl.col("financial_year") == rep)
    if r.height:
        r = r.row(0, named=True)
        change = ""
        if yoy is not None:
            ch = yoy.filter((pl.col("financial_year") == rep) & (pl.col("scope") == "all"))
            if ch.height and ch["fair_change_pct"][0] is not None:
                c = ch.row(0, named=True)
                change = (f", {d.fmt_pct(abs(c['fair_change_pct']))} {'more' if c['fair_change_pct'] >= 0 else 'fewer'}"
                          f" than in {c['previous_year']}")
        out.append(Finding("delivery", f"The programme delivered {d.fmt_count(r['units'])} CPD units in {rep}{change}.",
                           "tbl-units"))
        out.append(Finding("delivery", f"{count_text(r['participants'], threshold).capitalize()} teachers, technicians "
                           f"and other staff took part, from {count_text(r['schools'], threshold)} schools and "
                           "colleges.", "tbl-participants tbl-schools"))
    if targets is not None:
        from .analysis.delivery_publish import targets_met_text

        met = targets_met_text(targets, rep)
        if met:
            out.append(Finding("delivery", f"{met}.", "tbl-targets"))
    return out


def impact_findings(inputs: Mapping[str, Any], threshold: int) -> list[Finding]:
    s = _read(inputs.get("survey_summary"))
    if s is None:
        return []
    out = []
    row = s.filter((pl.col("instrument") == "participant_impact") & (pl.col("item_id") == "overall_impact")
                   & (pl.col("subgroup") == "all"))
    if row.height and row["n_substantive"][0] >= threshold:
        r = row.row(0, named=True)
        out.append(Finding("impact", f"{d.pct_in_words(r['pct_positive'], capitalize=True)} of the "
                           f"{d.fmt_count(r['n_substantive'])} participants who answered rated the overall impact "
                           "of the CPD high or very high.", "fig-overall-impact"))
    sat = s.filter((pl.col("instrument") == "event_feedback") & (pl.col("item_id") == "satisfaction")
                   & (pl.col("subgroup") == "all"))
    if sat.height and sat["n_substantive"][0] >= threshold:
        r = sat.row(0, named=True)
        out.append(Finding("impact", f"{d.pct_in_words(r['pct_positive'], capitalize=True)} of "
                           f"{d.fmt_count(r['n_substantive'])} event feedback forms rated satisfaction good or better.",
                           "tbl-satisfaction"))
    return out


def operations_findings(inputs: Mapping[str, Any], threshold: int, reporting: str | None) -> list[Finding]:
    f = _read(inputs.get("operations_funnel"))
    if f is None or reporting is None:
        return []
    a = f.filter((pl.col("financial_year") == reporting) & (pl.col("activity_type") == "all"))
    if not a.height or a["booked"][0] < threshold:
        return []
    r = a.row(0, named=True)
    return [Finding("operations", f"Of {d.fmt_count(r['booked'])} bookings in {reporting}, "
                    f"{d.fmt_pct(r['pct_attended'])} were attended and {d.fmt_pct(r['pct_cancelled'])} cancelled.",
                    "tbl-funnel")]


def attainment_findings(inputs: Mapping[str, Any], threshold: int, headline: str) -> list[Finding]:
    est, summary = _read(inputs.get("attainment_estimates")), _json(inputs.get("attainment_summary"))
    if est is None or summary is None or not est.height:
        return []
    from .attainment import MEASURE_LABEL, compares_changes

    out = []
    for m in summary.get("measures") or []:
        row = est.filter((pl.col("measure") == m) & (pl.col("method_key") == headline))
        if not row.height or row["estimate"][0] is None or row["ci_low"][0] is None:
            continue
        r = row.row(0, named=True)
        if min(r["n_treated"] or 0, r["n_control"] or 0) < threshold:
            continue
        unit = " percentage points" if m.startswith("pct_") else " points"
        measure = d.in_sentence(MEASURE_LABEL.get(m, m))
        if compares_changes(headline):
            subject = (f"After adjustment ({d.in_sentence(r['method'])}), the change in {measure} in schools after "
                       "they began to use the programme")
            comparison = "the change over the same years in schools that did not"
        else:
            subject = f"After adjustment ({d.in_sentence(r['method'])}), {measure} in schools that used the programme"
            comparison = "in similar schools that did not"
        text, kind = difference_sentence(subject, r["estimate"], r["ci_low"], r["ci_high"], unit,
                                         comparison=comparison)
        sign = (1 if r["estimate"] > 0 else -1) if kind == "difference" else 0
        name = d.in_sentence(MEASURE_LABEL.get(m, m).split(" (")[0])     # no unit: it stands in brackets
        out.append(Finding("attainment", text + ".", "tbl-estimates", kind, about=name, sign=sign))
    return out


def conclusions(findings: list[Finding], *, headline: str) -> list[str]:
    """What the evidence adds up to, in a sentence per chapter that has one to give (today the attainment
    estimates): which measures differ, in which direction, and which do not, without repeating the figures the
    key findings give."""
    est = [f for f in findings if f.chapter == "attainment" and f.kind in ("difference", "similar") and f.about]
    if not est:
        return []
    from .attainment import compares_changes

    higher, lower, similar = ([f.about for f in est if f.kind == k and f.sign == s]
                              for k, s in (("difference", 1), ("difference", -1), ("similar", 0)))
    if compares_changes(headline):
        verbs = ("rose more after schools began to use the programme than over the same years in schools that did "
                 "not", "rose less after schools began to use the programme than in schools that did not",
                 "changed much as they did in schools that did not")
    else:
        verbs = ("were higher in schools that used the programme than in similar schools that did not",
                 "were lower in schools that used the programme than in similar schools that did not",
                 "were much the same as in similar schools that did not")
    n = len(est)
    clauses = []
    for group, verb in zip((higher, lower, similar), verbs):
        if group:
            which = ("the attainment measure" if n == 1 else "every attainment measure" if len(group) == n
                     else f"{d.count_in_words(len(group))} of the {d.count_in_words(n)} attainment measures")
            clauses.append(f"on {which} ({d.join_words(group)}), results {verb}")
    sentence = d.sentence_start("; ".join(clauses)) + "."
    if higher or lower:
        sentence += (" These are differences the adjusted comparison finds, not proof that the programme caused them: "
                     "the limitations below say what they rest on.")
    return [sentence]


def key_findings(inputs: Mapping[str, Any], *, threshold: int, headline: str, chapters: list[str]) -> list[Finding]:
    """Every finding the configured chapters support, in the chapters' order."""
    summary = _json(inputs.get("delivery_summary")) or {}
    by = {"delivery": lambda: delivery_findings(inputs, threshold),
          "operations": lambda: operations_findings(inputs, threshold, summary.get("reporting_year")),
          "impact": lambda: impact_findings(inputs, threshold),
          "attainment": lambda: attainment_findings(inputs, threshold, headline)}
    out: list[Finding] = []
    for ch in chapters:
        if ch in by:
            out += by[ch]()
    return out


def limitations(findings: list[Finding], inputs: Mapping[str, Any], chapters: list[str], *,
                headline: str) -> list[str]:
    """What a reader must keep in mind, from the same facts: each a sentence. ``headline`` is the method key of
    the estimate the key findings quote (its assumption is the one stated)."""
    out = []
    if "attainment" in chapters:
        out.append("The comparisons of groups of schools repeat the published method: plain averages, which do not "
                   "show what the programme caused, because schools chose whether to take part.")
        if any(f.kind == "difference" for f in findings if f.chapter == "attainment"):
            from .attainment import compares_changes

            if compares_changes(headline):
                out.append("The headline estimates compare how each school's results changed after it began to use "
                           "the programme with how results changed over the same years in schools that did not; "
                           "they assume both would otherwise have moved alike, and a change in how a measure is "
                           "graded during those years weakens them.")
            else:
                out.append("The adjusted estimates compare schools like each other in results before, size, intake "
                           "and region; they remove differences that these measure, not any others.")
        if any(f.kind == "similar" for f in findings if f.chapter == "attainment"):
            out.append("Where the adjusted estimates show groups as similar, the data cannot tell a small effect from "
                       "none: the interval gives the range the data allow.")
    out.append("Counts from 1 to one below the disclosure threshold are not published, nor any figure that would let "
               "a reader work one out, so some rows of the tables show c.")
    return out
