"""The pipeline's last check before anything is published: the disclosure attacker and the leak scan.

:func:`audit_publications` reads back every table the chapters published (the publication logs that
:func:`cpdeval.tables.publish_table` writes while a chapter renders: each table's shown cells, the totals it
declared and the percentages it shows) and tries to recover each suppressed cell, as a reader with the
published report could, by linear programming (:func:`cpdeval.disclosure.attack`). Tables published under the
same ``link`` name are attacked together: a count shown in one and suppressed in another is the same unknown.
It also checks the simple rules: no count below the threshold shown, no percentage shown beside its suppressed
numerator or base.

:func:`leak_scan` runs :mod:`cpdeval.leaks` over every derived file and report of the year.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from . import display as d
from .disclosure import PercentBound, Problem, attack
from .tables import _parse_number


@dataclass
class TableAudit:
    threshold: int
    tables: int = 0
    count_cells: int = 0
    suppressed: int = 0
    equations: int = 0
    attacked: int = 0
    findings: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"threshold": self.threshold, "tables": self.tables, "count_cells": self.count_cells,
                "suppressed_cells": self.suppressed, "equations": self.equations,
                "suppressed_cells_attacked": self.attacked, "recoverable_cells": len(self.findings)}

    def describe(self) -> list[str]:
        return [f"{self.tables} published tables: {self.count_cells} count cells, {self.suppressed} suppressed; "
                f"{self.equations} published totals; {self.attacked} suppressed cells attacked; "
                f"{len(self.findings)} recoverable"]

    def problems(self) -> list[str]:
        return list(self.findings)


def _records(path: str | Path) -> list[dict]:
    text = Path(path).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _where(chapter: str, rec: dict, row: int, column: str) -> str:
    labels = [v for v, k in zip(rec["rows"][row], rec["kinds"]) if k == "label" and v]
    name = rec.get("caption") or rec.get("label") or "(no caption)"
    return f"{chapter}: table {name!r}, row {' / '.join(labels) or row + 1!r}, column {column!r}"


def audit_publications(paths: list[str | Path], threshold: int) -> TableAudit:
    """Attack every published table of the chapters whose publication logs are ``paths``."""
    audit = TableAudit(threshold)
    groups: dict[str, list[tuple[str, int, dict]]] = {}
    for path in paths:
        chapter = Path(path).stem
        for n, rec in enumerate(_records(path)):
            audit.tables += 1
            groups.setdefault(rec.get("link") or f"{chapter}#{n}", []).append((chapter, n, rec))
    for members in groups.values():
        _attack_group(members, audit)
    return audit


def _attack_group(members: list[tuple[str, int, dict]], audit: TableAudit) -> None:
    problem = Problem()
    where: dict = {}
    for chapter, n, rec in members:
        headers = rec["headers"]
        # a linked table's count cells are known by their row labels and column, shared with its twins
        keys = ({tuple(c["cell"]): (tuple(c["key"][0]), c["key"][1]) for c in rec["cells"]}
                if rec.get("link") else {})

        def cell_id(ref, keys=keys, chapter=chapter, n=n):
            key = keys.get(tuple(ref))
            return ("link", key) if key else (chapter, n, *ref)

        for c in rec["cells"]:
            if c["cell"][0] == "block":
                continue
            row, header = c["cell"]
            cid = cell_id(c["cell"])
            where.setdefault(cid, _where(chapter, rec, row, header))
            audit.count_cells += 1
            shown = c["shown"]
            if shown == d.SUPPRESSED:
                problem.suppressed.add(cid)
                audit.suppressed += 1
                continue
            value = _parse_number(shown) if shown is not None else None
            if value is None:
                continue
            if 0 < value < audit.threshold:
                audit.findings.append(f"{where[cid]}: the count {shown} is shown, below the threshold "
                                      f"{audit.threshold}")
            problem.published[cid] = value
        for ref in rec["hidden"]:
            problem.hidden.add(cell_id(ref))
        for ref in rec.get("protected", []):   # the small count behind a percentage shown as c
            problem.suppressed.add(cell_id(ref))
            where.setdefault(cell_id(ref), _where(chapter, rec, ref[0], ref[1]))
        for total, parts in rec["equations"]:
            problem.equations.append((cell_id(total), tuple(cell_id(p) for p in parts)))
            audit.equations += 1
        for p in rec["percents"]:
            num, base = cell_id(p["numerator"]), cell_id(p["base"])
            for ref, cid in ((p["numerator"], num), (p["base"], base)):
                if cid in problem.suppressed:
                    audit.findings.append(f"{_where(chapter, rec, ref[0], headers[0])}: a percentage "
                                          f"({p['percent']:g}%) is shown beside its suppressed {ref[1]!r}")
            problem.percents.append(PercentBound(num, base, p["percent"], p["decimals"]))
    problem.hidden -= set(problem.published) | problem.suppressed   # e.g. a total another linked table shows
    problem.suppressed -= set(problem.published)   # hidden in one linked table, shown in another: the reader has it
    audit.attacked += len(problem.suppressed)
    for breach in attack(problem, audit.threshold):
        hi = "no upper limit" if breach.high == float("inf") else f"{breach.high:g}"
        audit.findings.append(f"{where.get(breach.cell, breach.cell)}: suppressed, but the published totals "
                              f"put it between {breach.low:g} and {hi} (narrower than {audit.threshold})")


@dataclass
class LeakAudit:
    files: dict
    findings: list

    def summary(self) -> dict:
        return {"files_scanned": dict(sorted(self.files.items())), "findings": len(self.findings)}

    def describe(self) -> list[str]:
        return [f"leak scan: {sum(self.files.values())} files ({', '.join(f'{v} {k}' for k, v in sorted(self.files.items()))}); "
                f"{len(self.findings)} findings"]

    def problems(self) -> list[str]:
        return [f"personal data or pupil rows: {f}" for f in self.findings]


def leak_scan(raw_files: list[str], roots: list[str], exclude: list[str] = ()) -> LeakAudit:
    """The personal-data and pupil-row scan of :mod:`cpdeval.leaks` over ``roots`` (derived files, reports),
    leaving out the files in ``exclude``."""
    from .leaks import build_watchlist, scan_paths

    wl = build_watchlist([(f, "auto") for f in raw_files])
    result = scan_paths(roots, wl, exclude=exclude)
    return LeakAudit(result.files, result.findings)
