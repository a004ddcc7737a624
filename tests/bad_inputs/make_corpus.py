"""Bad-input corpus: broken copies of every raw input, written from a freshly generated synthetic year.

:func:`build_corpus` generates a small synthetic year, takes a short *base* file for every raw input kind
configured in ``config/config.yaml`` (its first 40 data rows, plus the last 3 for the census and the
performance tables, whose total rows are set aside by design) and writes broken variants of it, one
directory per kind (``<out>/<kind>/<variant>.csv``; ``survey:x`` is written ``survey_x``), with
``<out>/cases.json`` describing every case. Nothing is committed: the corpus is rebuilt each time from the
seeded generator, so it is the same on every machine.

Every case says how reading it must end (``expect``):

* ``quarantine``: the planted record (``row``: its line, header = 1) is quarantined with a rule containing one
  of ``rules`` (in quarantine column ``column`` where given); the reconciliation balances and its rows in
  equal ``data_rows``, the data records of the file.
* ``stop``: the reader raises :class:`~cpdeval.errors.CpdevalError` (``InputError``) naming the file, with
  one of ``rules`` in the message, and ``row`` / ``column`` where given.
* ``clean``: a harmless variation of the format (a BOM, CRLF or CR line ends, blank lines, an extra column,
  an optional column left out) reads as the base file does: same rows in, accepted and quarantined.

Kinds are the ``cpdeval validate --as`` kinds (:mod:`cpdeval.ingest.kinds`). The register, links file,
census and performance tables, whose readers map columns themselves, have hand-written specs
(:data:`HAND_SPECS`); every other kind's spec (which column is the key, which holds free text, which has
bounds, dates, codes) is derived from its contract, so a new configured reference input with a generic
contract is covered as soon as the generator writes it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from cpdeval import CONFIG_DIR

BASE_ROWS = 40          # data rows kept from each synthetic file
TAIL_ROWS = 3           # kept from the end where the file ends with total rows (set aside by design)
PLANT_AT = 3            # data row index where single-cell problems are planted (line 5)
SEED = 7

FORMULAS = {
    "formula_equals": "=cmd|' /C calc'!A0",
    "formula_plus": "+cmd|' /C calc'!A0",
    "formula_minus": "-2+3+cmd|' /C calc'!A0",
    "formula_at": "@SUM(1+1)*cmd|' /C calc'!A0",
}
LONG_TEXT = "very long text " * 6_667          # 100,005 characters
LONG_NUMBER = "9" * 100_000
NON_ASCII = "École Sainte-Thérèse"

R_FORMULA = ("formula-like",)
R_LONG = ("text longer than",)
R_CONTROL = ("control character",)
R_TYPE = ("type",)
R_REQUIRED = ("required value missing",)
R_CODE = ("allowed values", "unknown code", "pattern")
R_DUPLICATE = ("duplicate",)
R_ENCODING = ("text encoding", "UTF-8", "UTF-16")

#: columns whose raw value never reaches a table (hashed at ingest), so they cannot carry a planted value
PSEUDONYMISED = {"participant_id"}


@dataclass(frozen=True)
class Plant:
    """One cell to break: ``header`` (the file's column) gets ``value``; the quarantine must show one of
    ``rules`` (in quarantine column ``column`` where given)."""

    header: str
    value: str
    rules: tuple[str, ...]
    column: str | None = None


@dataclass(frozen=True)
class DateColumn:
    header: str
    format: str
    column: str


@dataclass(frozen=True)
class InputSpec:
    kind: str
    rel_path: str                      # the file in the synthetic year
    encoding: str                      # what the contract says
    key: tuple[str, ...]               # headers of the key (a copied row is a duplicate)
    required: str                      # a header the reader cannot do without
    text: str                          # a header whose value is kept as text (formula, long, NUL cases)
    text_column: str                   # ... and its name in the table
    text_free: bool = True             # the text column takes any text (no allowed values or pattern)
    text_typed: bool = False           # the input has no text column: ``text`` is a typed one
    not_null: tuple[str, ...] = ()     # headers whose blank value quarantines the row
    optional: str | None = None        # a header that may be left out
    number: str | None = None          # a numeric header (a 100,000-digit number)
    date: DateColumn | None = None
    plants: dict = field(default_factory=dict)   # variant -> Plant
    duplicate_rules: tuple[str, ...] = R_DUPLICATE
    keep_tail: bool = False
    options: dict = field(default_factory=dict)  # read_input keyword arguments


@dataclass
class Case:
    kind: str
    variant: str
    path: str
    expect: str                        # quarantine | stop | clean
    rules: tuple[str, ...] = ()
    row: int | None = None
    column: str | None = None
    data_rows: int | None = None
    options: dict = field(default_factory=dict)
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.variant}"


# =============================================================================================
# Specs
# =============================================================================================

HAND_SPECS = {
    "register": InputSpec(
        kind="register", rel_path="register/edubasealldata.csv", encoding="cp1252", key=("URN",),
        required="PhaseOfEducation (name)", text="EstablishmentName", text_column="name",
        not_null=("URN", "EstablishmentName", "EstablishmentStatus (name)"), number="NumberOfPupils",
        date=DateColumn("OpenDate", "%d-%m-%Y", "open_date"),
        plants={
            "impossible_age": Plant("StatutoryLowAge", "150", ("maximum 99",), "low_age"),
            "impossible_fsm": Plant("PercentageFSM", "250", ("maximum 100",), "pct_fsm"),
            "negative_pupils": Plant("NumberOfPupils", "-5", ("minimum 0",)),
            "wrong_type": Plant("URN", "12AB", R_TYPE, "urn"),
            "not_a_number": Plant("PercentageFSM", "NaN", R_TYPE, "pct_fsm"),
            "blank_required": Plant("EstablishmentName", "", R_REQUIRED, "name"),
        }),
    "links": InputSpec(
        kind="links", rel_path="register/links_edubasealldata.csv", encoding="cp1252", key=("URN", "LinkURN"),
        required="LinkType", optional="LinkName", text="LinkName", text_column="link_name",
        not_null=("URN", "LinkURN", "LinkType"), number="LinkURN",
        date=DateColumn("LinkEstablishedDate", "%d-%m-%Y", "link_date"),
        plants={
            "impossible_urn": Plant("LinkURN", "99", ("minimum 10000",), "link_urn"),
            "wrong_type": Plant("URN", "12AB", R_REQUIRED + R_TYPE, "urn"),
            "blank_required": Plant("LinkType", "", R_REQUIRED, "link_type"),
        }),
    "census": InputSpec(
        kind="census", rel_path="register/england_census.csv", encoding="utf-8", key=("URN",),
        required="NOR", optional="PNUMEAL", text="SCHOOLTYPE", text_column="census_school_type",
        not_null=("URN",), number="NOR", keep_tail=True,
        plants={
            "impossible_pct": Plant("PNUMFSMEVER", "150", ("maximum 100",), "pct_fsm_ever"),
            "negative_pupils": Plant("NOR", "-3", ("minimum 0",), "pupils"),
            "wrong_type": Plant("NOR", "many", R_TYPE, "pupils"),
            "not_a_number": Plant("PNUMFSMEVER", "NaN", R_TYPE, "pct_fsm_ever"),
            "blank_required": Plant("URN", "", R_REQUIRED, "urn"),
            "bad_urn": Plant("URN", "12AB", R_TYPE, "urn"),
        }),
    "ks4": InputSpec(
        kind="ks4", rel_path="performance/2018-2019_england_ks4final.csv", encoding="utf-8", key=("URN",),
        required="ATT8SCR", optional="SCHNAME", text="ATT8SCR", text_column="raw_value",
        not_null=("RECTYPE", "URN"), number="ATT8SCR", keep_tail=True, duplicate_rules=("duplicate URN",),
        options={"academic_year": "2018-19"},
        plants={
            "impossible_pct": Plant("PTEBAC2SCI_94", "250%", ("percentage outside 0-100",), "PTEBAC2SCI_94"),
            "negative_count": Plant("TPUP", "-5", ("negative count",), "TPUP"),
            "wrong_type": Plant("URN", "12AB", ("URN is not a number",), "URN"),
            "bad_rectype": Plant("RECTYPE", "abc", ("RECTYPE",), "URN"),
            "blank_required": Plant("URN", "", ("without a URN",), "URN"),
        }),
    "ks2": InputSpec(
        kind="ks2", rel_path="performance/2018-2019_england_ks2final.csv", encoding="utf-8", key=("URN",),
        required="PTSCITA_EXP", optional="SCHNAME", text="READPROG", text_column="raw_value",
        not_null=("RECTYPE", "URN"), number="READPROG", keep_tail=True, duplicate_rules=("duplicate URN",),
        options={"academic_year": "2018-19"},
        plants={
            "impossible_pct": Plant("PTRWM_EXP", "101%", ("percentage outside 0-100",), "PTRWM_EXP"),
            "negative_count": Plant("TELIG", "-1", ("negative count",), "TELIG"),
            "wrong_type": Plant("URN", "12AB", ("URN is not a number",), "URN"),
            "bad_rectype": Plant("RECTYPE", "abc", ("RECTYPE",), "URN"),
            "blank_required": Plant("URN", "", ("without a URN",), "URN"),
        }),
}

#: rules beyond the contract's column checks, per kind (cross-column rules, codebook)
EXTRA_PLANTS = {
    "ofsted": {"cross_rule": Plant("inspection_date", "", ("needs an inspection date",), "inspection_date")},
    "case_outcomes": {
        "not_in_codebook": Plant("outcome_type", "made_up_type", ("codebook",), "outcome_type"),
        "old_codebook": Plant("codebook_version", "0.1", ("codebook version",), "codebook_version"),
    },
}


#: Kinds read with encoding "auto" (UTF-8 when the bytes are UTF-8, else Windows-1252), as GIAS and DfE
#: files arrive in either form.
AUTO_ENCODING_KINDS = ("register", "links", "census")


def _other_format(fmt: str) -> str:
    """A way of writing a date that no contract reads ("14 May 2018"; ISO and a time part are read)."""
    return "%d %B %Y"


def _impossible_date(fmt: str) -> str:
    return dt.datetime(2018, 2, 28, 10, 0).strftime(fmt).replace("28", "31", 1)


def contract_for(kind: str):
    """The contract a kind's file is mapped onto (surveys: the instrument's wide contract)."""
    from cpdeval.contracts import load_contract
    from cpdeval.ingest.surveys import load_instrument, wide_contract
    from cpdeval.config import TARGETED_INPUTS

    if kind.startswith("survey:"):
        return wide_contract(load_instrument(kind.split(":", 1)[1]))
    return load_contract(TARGETED_INPUTS.get(kind, kind))


def spec_from_contract(kind: str, rel_path: str, contract, header: list[str]) -> InputSpec:
    """An input's spec derived from its contract (columns with a ``source`` header present in the file)."""
    cols = [c for c in contract.columns if c.source and c.source in header]
    key = set(contract.key)
    cross = {p.header for p in EXTRA_PLANTS.get(kind, {}).values()}   # columns with rules beyond the contract

    def first(pred, *prefs):
        found = [c for c in cols if pred(c) and c.name not in PSEUDONYMISED]
        for pref in prefs:
            better = [c for c in found if pref(c)]
            if better:
                return better[0]
        return found[0] if found else None

    def free(c):
        return not (c.allowed or c.pattern or c.values) and c.source not in cross

    text = first(lambda c: c.dtype == "str" and not c.values, lambda c: free(c) and c.name not in key and c.nullable,
                 lambda c: free(c) and c.name not in key, free) or cols[0]
    required = first(lambda c: c.required, lambda c: c.name not in key and c.name != text.name)
    optional = first(lambda c: not c.required)
    number = first(lambda c: c.dtype in ("int", "float"))
    plants = {}
    bounded = first(lambda c: c.dtype in ("int", "float") and (c.min is not None or c.max is not None))
    if bounded is not None:
        if bounded.min is not None:
            plants["impossible_value"] = Plant(bounded.source, str(bounded.min - 1), (f"minimum {bounded.min}",),
                                               bounded.name)
        else:
            plants["impossible_value"] = Plant(bounded.source, str(bounded.max + 1), (f"maximum {bounded.max}",),
                                               bounded.name)
    typed = first(lambda c: c.dtype in ("int", "float", "date", "bool"))
    if typed is not None:
        plants["wrong_type"] = Plant(typed.source, "12AB", R_TYPE, typed.name)
    real = first(lambda c: c.dtype == "float")
    if real is not None:
        plants["not_a_number"] = Plant(real.source, "NaN", R_TYPE, real.name)
    coded = first(lambda c: c.dtype == "str" and bool(c.values or c.allowed or c.pattern))
    if coded is not None:
        plants["unknown_code"] = Plant(coded.source, "Not A Code!", R_CODE, coded.name)
    must = first(lambda c: not c.nullable, lambda c: c.name not in key)
    if must is not None:
        plants["blank_required"] = Plant(must.source, "", R_REQUIRED, must.name)
    plants.update(EXTRA_PLANTS.get(kind, {}))
    dated = first(lambda c: c.dtype == "date")
    date_fmt = (dated.format or contract.source_format.get("date_format") or "%Y-%m-%d") if dated else None
    return InputSpec(
        kind=kind, rel_path=rel_path, encoding=contract.source_format.get("encoding", "utf-8"),
        key=tuple(contract.column(k).source for k in contract.key), required=required.source,
        text=text.source, text_column=text.name, text_free=text.dtype == "str" and free(text),
        text_typed=text.dtype != "str", optional=optional.source if optional else None,
        not_null=tuple(c.source for c in cols if not c.nullable and c.name not in PSEUDONYMISED),
        number=number.source if number else None,
        date=DateColumn(dated.source, date_fmt, dated.name) if dated else None, plants=plants)


def configured_inputs(config_path: str | Path | None = None) -> dict[str, str]:
    """kind -> file of the synthetic year (relative to its folder) for every raw input the default config reads."""
    cfg = yaml.safe_load(Path(config_path or CONFIG_DIR / "config.yaml").read_text(encoding="utf-8"))
    out_dir = cfg["synthetic"]["out_dir"].rstrip("/") + "/"
    last_fy = cfg["years"]["reporting"]
    start = int(str(last_fy)[:4])
    last_ay = f"{start}-{start + 1}"   # 2018-19 -> 2018-2019 (the performance file name)
    rel = {}

    def add(kind, path):
        if isinstance(path, str) and path.endswith(".csv") and path.startswith(out_dir):
            rel[kind] = path[len(out_dir):]

    for key, value in cfg["inputs"].items():
        if key == "bookings":
            add(key, value.replace("{fy}", str(last_fy)))
        elif key == "performance":
            for ks, pattern in value.items():
                add(ks, pattern.replace("{start}-{end}", last_ay))
        elif key == "surveys":
            for name, path in value.items():
                add(f"survey:{name}", path)
        elif key == "targeted":
            for name, path in value.items():
                add(name, path)
        else:
            add(key, value)
    return rel


# =============================================================================================
# Base files
# =============================================================================================

@dataclass
class Base:
    spec: InputSpec
    header: list[str]
    rows: list[list[str]]
    bom: bool
    newline: str
    quote_all: bool

    def idx(self, header: str) -> int:
        return self.header.index(header)

    def text(self, header=None, rows=None, *, delimiter=",", newline=None) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=delimiter, lineterminator=newline or self.newline,
                       quoting=csv.QUOTE_ALL if self.quote_all else csv.QUOTE_MINIMAL)
        w.writerow(self.header if header is None else header)
        w.writerows(self.rows if rows is None else rows)
        return buf.getvalue()

    def encode(self, text: str, encoding: str | None = None, bom: bool | None = None) -> bytes:
        data = text.encode(encoding or self.spec.encoding, errors="replace")
        return (codecs.BOM_UTF8 if (self.bom if bom is None else bom) else b"") + data

    def with_cell(self, i: int, header: str, value: str) -> list[list[str]]:
        rows = [list(r) for r in self.rows]
        rows[i][self.idx(header)] = value
        return rows

    def row_with(self, header: str, start: int = PLANT_AT) -> int:
        """First data row index from ``start`` whose cell in ``header`` is not blank."""
        j = self.idx(header)
        for i in list(range(start, len(self.rows))) + list(range(start)):
            if self.rows[i][j].strip():
                return i
        return start


def read_base(path: Path, spec: InputSpec) -> Base:
    data = path.read_bytes()
    bom = data.startswith(codecs.BOM_UTF8)
    text = data[len(codecs.BOM_UTF8) if bom else 0:].decode("utf-8" if bom else spec.encoding)
    newline = "\r\n" if "\r\n" in text else "\n"
    records = list(csv.reader(io.StringIO(text, newline="")))
    header, rows = records[0], [r for r in records[1:] if r]
    base_rows = rows[:BASE_ROWS]
    if spec.keep_tail and len(rows) > BASE_ROWS + TAIL_ROWS:
        base_rows += rows[-TAIL_ROWS:]
    return Base(spec, header, base_rows, bom, newline, text.lstrip().startswith('"'))


# =============================================================================================
# Variants
# =============================================================================================

def _line(i: int) -> int:
    """File line of data row index ``i`` in a file written by :meth:`Base.text` (header = line 1)."""
    return i + 2


def variants(b: Base) -> list[tuple[str, bytes, dict]]:
    """(variant, file bytes, expectation) for one base file."""
    s, n = b.spec, len(b.rows)
    out = []

    def add(name, data, expect, **kw):
        out.append((name, data, {"expect": expect, **kw}))

    def q(name, rows, rules, row, column=None, header=None, note=""):
        add(name, b.encode(b.text(header, rows)), "quarantine", rules=rules, row=row, column=column,
            data_rows=len(rows), note=note)

    text = b.text()
    # -- the file as a whole ---------------------------------------------------------------------
    add("empty", b"", "stop", rules=("empty",), row=1, note="a file of zero bytes")
    add("header_only", b.encode(b.text(rows=[])), "stop", rules=("no data rows",), row=2)
    head_line = b.text(rows=[]).rstrip("\r\n")
    add("truncated_header", b.encode(head_line[:len(head_line) * 3 // 5]), "stop",
        rules=("missing", "no data rows", "not in the file"), note="the file ends inside its header")
    last = text.rstrip("\r\n")
    last_line = last.rsplit("\n", 1)[-1]
    keep = len(last_line) * 2 // 5     # cut 40% into the last record, where fewer fields than the header remain
    while keep > 1 and (last_line[keep - 1] == "," or len(next(csv.reader([last_line[:keep]]))) >= len(b.header)):
        keep -= 1
    cut = len(last) - len(last_line) + keep
    add("truncated", b.encode(last[:cut]), "stop", rules=("truncated", "quoting"), row=_line(n - 1),
        note="the file ends in the middle of its last record")
    add("no_final_newline", b.encode(last), "clean")
    add("semicolon_delimited", b.encode(b.text(delimiter=";")), "stop", rules=("missing", "separated by semicolons"), row=1)
    add("tab_delimited", b.encode(b.text(delimiter="\t")), "stop", rules=("missing", "separated by tabs"), row=1)
    add("utf16", text.encode("utf-16"), "stop", rules=R_ENCODING + ("missing",), row=1,
        note="a UTF-16 export (Excel 'Unicode text')")
    # wrong encoding: a non-ASCII name written in the encoding the contract does not say
    other = "utf-8" if s.encoding.lower() in ("cp1252", "windows-1252", "latin-1") else "cp1252"
    enc_text = b.text(rows=b.with_cell(PLANT_AT, s.text, NON_ASCII))
    first_non_ascii = next(i for i, line in enumerate(enc_text.split("\n"), 1) if not line.isascii())
    if s.kind in AUTO_ENCODING_KINDS:   # read with encoding auto: each encoding is detected per file
        add(f"wrong_encoding_{other}", b.encode(enc_text, other, bom=False), "clean",
            note=f"written as {other}; detected (the published files are {s.encoding})")
    else:
        add(f"wrong_encoding_{other}", b.encode(enc_text, other, bom=False), "stop", rules=R_ENCODING,
            row=first_non_ascii, note=f"written as {other}; the contract says {s.encoding}")
    if b.bom:
        add("without_bom", b.encode(text, bom=False), "clean")
    elif s.encoding == "utf-8":
        add("with_bom", b.encode(text, bom=True), "clean")
    else:
        add("utf8_with_bom", b.encode(text, "utf-8", bom=True), "clean",
            note="re-saved as UTF-8 with a byte order mark (Excel 'CSV UTF-8'): the BOM says UTF-8")
    other_nl = "\n" if b.newline == "\r\n" else "\r\n"
    add("crlf_toggled", b.encode(b.text(newline=other_nl)), "clean", note=f"line ends {other_nl!r}")
    add("cr_line_ends", b.encode(b.text(newline="\r")), "clean", note="old Mac line ends (CR alone)")
    add("blank_lines", b.encode(text.replace(b.newline, b.newline * 2) + b.newline * 2), "clean")
    add("trailing_nuls", b.encode(text) + b"\x00" * 64, "stop", rules=("truncated",), row=_line(n),
        note="NUL padding after the last record (a crash while writing)")
    # -- structure ---------------------------------------------------------------------------------
    add("trailing_delimiter", b.encode(text.replace(b.newline, "," + b.newline).replace("," + b.newline, b.newline, 1)),
        "stop", rules=("fields but the header has",), row=2, note="a delimiter after the last field of every data row")
    add("trailing_delimiter_all", b.encode(text.replace(b.newline, "," + b.newline)), "clean",
        note="a delimiter after the last field of every line, header too (an empty extra column)")
    rows = [list(r) for r in b.rows]
    rows[PLANT_AT] = rows[PLANT_AT] + ["surplus"]
    if s.kind == "register":   # GIAS: a spill into the unread last column is repaired and counted
        add("extra_field_in_row", b.encode(b.text(rows=rows)), "clean",
            note="an extra field after the last column, which is not read: repaired, counted in the reconciliation")
    else:
        add("extra_field_in_row", b.encode(b.text(rows=rows)), "stop", rules=("fields but the header has",),
            row=_line(PLANT_AT))
    lost = [h for h in b.header[2:] if h in s.not_null]
    if lost:
        rows = [list(r) for r in b.rows]
        rows[PLANT_AT] = rows[PLANT_AT][:2]
        q("short_row", rows, R_REQUIRED + ("without a URN",), _line(PLANT_AT),
          note=f"a record of 2 fields; {lost[0]!r} is missing from it")
    add("extra_column", b.encode(b.text(b.header + ["Notes"], [r + ["checked"] for r in b.rows])), "clean")
    dup = s.required
    add("duplicate_header", b.encode(b.text(b.header + [dup], [r + [r[b.idx(dup)]] for r in b.rows])), "stop",
        rules=("repeats column name", "more than once"), row=1)
    j = b.idx(s.required)
    add("missing_required_column",
        b.encode(b.text(b.header[:j] + b.header[j + 1:], [r[:j] + r[j + 1:] for r in b.rows])), "stop",
        rules=(s.required,), row=1, column=s.required)
    if s.optional:
        j = b.idx(s.optional)
        add("missing_optional_column",
            b.encode(b.text(b.header[:j] + b.header[j + 1:], [r[:j] + r[j + 1:] for r in b.rows])), "clean")
    # quoting
    marker = "\u2603MARK\u2603"
    raw = b.text(rows=b.with_cell(PLANT_AT, s.text, marker))
    quoted = f'"{marker}"' if f'"{marker}"' in raw else marker
    add("unterminated_quote", b.encode(raw.replace(quoted, '"Alpha School, no closing quote')), "stop",
        rules=("quoting",), row=_line(PLANT_AT))
    add("stray_quote", b.encode(raw.replace(quoted, '"Alpha" School')), "stop", rules=("quoting",),
        row=_line(PLANT_AT), note="text after a closing quote")
    if s.text_free:
        rows = b.with_cell(PLANT_AT, s.text, "Alpha\nSchool")
        add("quoted_line_break", b.encode(b.text(rows=rows)), "clean", note="a quoted field holding a line break")
    # -- rows and cells ------------------------------------------------------------------------------
    q("duplicate_key", b.rows + [list(b.rows[0])], s.duplicate_rules, _line(n),
      note=f"data row 1 repeated at the end (key {', '.join(s.key)})")
    for name, plant in s.plants.items():
        i = b.row_with(plant.header) if plant.value == "" or plant.header == (s.date.header if s.date else "") \
            else PLANT_AT
        q(name, b.with_cell(i, plant.header, plant.value), plant.rules, _line(i), plant.column,
          note=f"{plant.header} = {plant.value!r}")
    if s.date:
        i = b.row_with(s.date.header)
        value = dt.datetime.strptime(b.rows[i][b.idx(s.date.header)].strip(), s.date.format)
        q("mixed_date_formats", b.with_cell(i, s.date.header, value.strftime(_other_format(s.date.format))),
          R_TYPE, _line(i), s.date.column, note=f"one {s.date.header} not written {s.date.format}")
        q("impossible_date", b.with_cell(i, s.date.header, _impossible_date(s.date.format)), R_TYPE, _line(i),
          s.date.column, note="31 February")
        if s.date.format == "%d/%m/%Y":   # unambiguous shapes of the same date, as exports write them
            for name, shape in (("date_with_time", "%d/%m/%Y %H:%M"), ("excel_datetime", "%Y-%m-%d %H:%M:%S"),
                                ("iso_date", "%Y-%m-%d")):
                add(name, b.encode(b.text(rows=b.with_cell(i, s.date.header, value.strftime(shape)))), "clean",
                    note=f"one {s.date.header} written {shape}")
    typed = R_TYPE if s.text_typed else ()   # no text column: the cell is not a number, either
    for name, value in FORMULAS.items():
        q(name, b.with_cell(PLANT_AT, s.text, value), R_FORMULA + typed, _line(PLANT_AT), s.text_column,
          note=f"{s.text} = {value!r}")
    q("very_long_text", b.with_cell(PLANT_AT, s.text, LONG_TEXT), R_LONG + typed, _line(PLANT_AT), s.text_column,
      note=f"{len(LONG_TEXT):,} characters in {s.text}")
    if s.number:
        q("very_long_number", b.with_cell(PLANT_AT, s.number, LONG_NUMBER), R_TYPE + R_LONG + R_REQUIRED,
          _line(PLANT_AT), note=f"a {len(LONG_NUMBER):,}-digit number in {s.number}")
    q("nul_byte", b.with_cell(PLANT_AT, s.text, "Alpha\x00School"), R_CONTROL + typed, _line(PLANT_AT),
      s.text_column, note=f"a NUL byte in {s.text}")
    return out


# =============================================================================================
# Corpus
# =============================================================================================

def kind_dir(kind: str) -> str:
    return kind.replace(":", "_")


def input_specs(raw_dir: Path) -> tuple[list[InputSpec], dict[str, str]]:
    """The spec of every configured raw input found in ``raw_dir``; and kinds skipped, with why."""
    from cpdeval.ingest.csvread import read_header

    specs, skipped = [], {}
    for kind, rel in configured_inputs().items():
        path = raw_dir / rel
        if not path.exists():
            skipped[kind] = f"the synthetic year has no {rel}"
            continue
        if kind in HAND_SPECS:
            specs.append(HAND_SPECS[kind])
            continue
        try:
            contract = contract_for(kind)
        except (KeyError, FileNotFoundError) as exc:
            skipped[kind] = f"no contract: {exc}"
            continue
        header = read_header(path, encoding=contract.source_format.get("encoding", "utf-8"))
        specs.append(spec_from_contract(kind, rel, contract, header))
    return specs, skipped


def build_corpus(out_dir: str | Path, *, seed: int = SEED, raw_dir: str | Path | None = None) -> list[Case]:
    """Write the corpus into ``out_dir`` (a synthetic year is generated into ``out_dir/_synthetic`` unless
    ``raw_dir`` holds one) and return its cases; ``out_dir/cases.json`` lists them."""
    from cpdeval.synthetic import generate

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if raw_dir is None:
        raw_dir = out / "_synthetic"
        generate(raw_dir, size="small", seed=seed)
    raw_dir = Path(raw_dir)
    specs, skipped = input_specs(raw_dir)
    cases = []
    for spec in specs:
        base = read_base(raw_dir / spec.rel_path, spec)
        folder = out / kind_dir(spec.kind)
        folder.mkdir(exist_ok=True)
        (folder / "_base.csv").write_bytes(base.encode(base.text()))
        for name, data, exp in variants(base):
            path = folder / f"{name}.csv"
            path.write_bytes(data)
            cases.append(Case(kind=spec.kind, variant=name, path=str(path), options=dict(spec.options), **exp))
    (out / "cases.json").write_text(json.dumps({"seed": seed, "skipped": skipped,
                                                "cases": [asdict(c) for c in cases]}, indent=1) + "\n",
                                    encoding="utf-8")
    return cases


def base_file(case: Case) -> Path:
    """The unbroken base file of a case's kind."""
    return Path(case.path).parent / "_base.csv"


if __name__ == "__main__":
    import sys

    built = build_corpus(sys.argv[1] if len(sys.argv) > 1 else "bad_input_corpus")
    print(f"{len(built)} cases")
