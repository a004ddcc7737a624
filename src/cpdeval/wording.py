"""Reader-facing words only: the check that nothing internal reaches a published report.

Readers never see the project's own names: no "seed" (how the developers' guide refers to the source reports,
which the report cites by title), no file paths or config keys, no column names or raw codes, no rule syntax,
and no software nulls ("None", "nan", "null"). :func:`internal_tokens` finds them in the visible text of a
published HTML or Word file; the tests and the report stage run it on every published file.
"""

from __future__ import annotations

import html as _html
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

#: What must not appear in published text, with the reason a finding gives.
PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("internal name of a source report", re.compile(r"\bseeds?\b", re.I)),
    ("file path", re.compile(r"(?<![\w/])(?:config|data|schemas|reports|src|logs)/[\w./-]+")),
    ("file name", re.compile(r"\b[\w-]+\.(?:ya?ml|csv|parquet|jsonl?|qmd|py|smk)\b")),
    ("column name, config key or code", re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")),
    ("rule syntax", re.compile(r"(?:[<>]=|==|!=)")),
    ("software null", re.compile(r"\b(?:None(?! of\b)|nan|NaN|null)\b")),
)

#: The pipeline's own vocabulary, which readers of the report do not share: its steps ("ingest", "the link
#: stage"), its files and settings ("data contract", "as configured", "groups file") and its codes ("status ok").
#: The analysts' quality report may use them; the report and its chapters may not (a test checks the report).
PIPELINE_VOCABULARY = re.compile(
    r"\b(?:ingest(?:ed|ion|s)?|data contracts?|as configured|configured (?:confidence|threshold|value)|"
    r"groups file|status ok|(?:engagement|link|survey|render|ingest) (?:stage|step))\b", re.I)

_DROP = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_DATA_URI = re.compile(r"data:[\w/.+-]+;base64,[A-Za-z0-9+/=\s]*")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    context: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.text!r} in '…{self.context}…'"


def visible_text(document: str) -> str:
    """The text a reader sees in an HTML page: no tags, scripts, styles or embedded images."""
    text = _DATA_URI.sub("", _DROP.sub(" ", document))
    # alt text and titles are read too (screen readers, hover)
    attrs = " ".join(m.group(2) for m in re.finditer(r'\b(alt|title|aria-label)="([^"]*)"', text))
    return _html.unescape(_TAG.sub(" ", text) + " " + attrs)


def docx_text(path: str | Path) -> str:
    """The text of a Word file (body, headers, footers, footnotes)."""
    with zipfile.ZipFile(path) as z:
        parts = [n for n in z.namelist() if n.startswith("word/") and n.endswith(".xml")]
        xml = " ".join(z.read(n).decode("utf-8", errors="replace") for n in parts)
    return _html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"</w:p>", "\n", xml)))


def internal_tokens(text: str) -> list[Token]:
    """Every internal token in ``text`` (already visible text)."""
    out = []
    for kind, pattern in PATTERNS:
        for m in pattern.finditer(text):
            a, b = max(0, m.start() - 40), min(len(text), m.end() + 40)
            out.append(Token(kind, m.group(), " ".join(text[a:b].split())))
    return out


def published_tokens(path: str | Path) -> list[Token]:
    """Internal tokens in a published ``.html`` or ``.docx`` file."""
    path = Path(path)
    if path.suffix == ".docx":
        return internal_tokens(docx_text(path))
    return internal_tokens(visible_text(path.read_text(encoding="utf-8")))


def uncited_tables_and_figures(page: str) -> list[str]:
    """The tables and figures of a rendered HTML page ("Table 12", "Figure 3") that its text never refers to
    outside their own captions: a table a reader is never pointed to is one they may never read."""
    numbered = re.findall(r"<(?:caption|figcaption)[^>]*>\s*((?:Table|Figure) \d+):", page)
    body = re.sub(r"<(caption|figcaption)[^>]*>.*?</\1>", " ", page, flags=re.S)
    text = " ".join(visible_text(body).split())
    return [n for n in numbered if not re.search(re.escape(n) + r"\b", text)]
