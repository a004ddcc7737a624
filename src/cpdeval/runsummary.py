"""What the end of a run prints: where the reports are, and one line of data quality per input kind."""

from __future__ import annotations

import json
from pathlib import Path


def quality_by_kind(reconciliation_dir: str | Path) -> list[dict]:
    """Rows in, accepted, quarantined and set aside per input kind (one reconciliation JSON per kind)."""
    out = []
    for path in sorted(Path(reconciliation_dir).glob("*.json")):
        records = json.loads(path.read_text(encoding="utf-8"))
        if not records:
            continue
        out.append({"kind": path.stem, "files": len(records),
                    **{k: sum(int(r[k]) for r in records)
                       for k in ("rows_in", "rows_accepted", "rows_quarantined", "rows_set_aside")}})
    return out


def summary_lines(derived_dir: str | Path, reports_dir: str | Path, formats: list[str] | None = None) -> list[str]:
    """The closing lines of a successful run."""
    reports = Path(reports_dir)
    found = sorted(p for p in reports.glob("*") if p.suffix.lstrip(".") in (formats or ["html", "docx"]))
    lines = [f"cpdeval: reports in {reports}/" + (f" ({', '.join(p.name for p in found)})" if found else "")]
    quality = quality_by_kind(Path(derived_dir) / "reconciliation")
    if quality:
        parts = [f"{q['kind']} {q['rows_in']:,} in / {q['rows_accepted']:,} accepted / "
                 f"{q['rows_quarantined']:,} quarantined" + (f" / {q['rows_set_aside']:,} set aside"
                                                            if q["rows_set_aside"] else "")
                 for q in quality]
        lines.append("cpdeval: data quality (rows): " + "; ".join(parts))
        lines.append(f"cpdeval: quarantined rows and their reasons: {Path(derived_dir)}/quarantine/ and the "
                     "methods chapter")
    return lines
