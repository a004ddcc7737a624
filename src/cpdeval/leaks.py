"""Leak scan: personal data and pupil-level rows in the files a run derives and publishes.

The pipeline promises that contact names and emails never leave ingest, that participant ids are keyed
hashes, and that no table has a row per pupil (``DESIGN.md``, "Conventions"). This module checks the
promise on the outputs themselves, not on the code that should keep it:

* :func:`build_watchlist` reads the raw inputs of a run and collects the exact values that must not
  appear downstream: every value of a column a contract lists under ``personal:`` (names, emails), and
  every raw id of a column that is pseudonymised on reading (``participant_id``: the CRM Contact ID).
  It also collects the postcodes of *institutions* (see :data:`INSTITUTION_POSTCODE_COLUMNS`): those are
  public (GIAS and the performance tables publish them) and may appear in outputs; any other postcode
  found downstream is reported as possibly an individual's.
* :func:`scan_paths` reads every derived table (parquet: every text column, column names included;
  CSV and JSON text), figure (PNG text chunks) and report (HTML, with embedded images removed; DOCX
  text) and reports each watched value, any email address, any postcode that is not an institution's,
  columns that identify people or pupils, and tables with attainment whose rows are finer than school x
  year (pupil rows).

Matching is on words, ignoring case and line breaks: a name is found whether a cell holds it alone or a
sentence mentions it. Single-word personal values (a first name alone) are not searched for, as they
would match ordinary words; they are counted in :attr:`Watchlist.skipped_single_words`.
"""

from __future__ import annotations

import html
import json
import re
import struct
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import polars as pl

from . import CONFIG_DIR

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
#: A UK postcode (outward code, optional space, inward code), upper or lower case.
POSTCODE = re.compile(r"\b([A-Za-z]{1,2}[0-9][A-Za-z0-9]?) ?([0-9][A-Za-z]{2})\b")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_DATA_URI = re.compile(r"data:[\w/.+-]+;base64,[A-Za-z0-9+/=\s]*")

#: Raw columns that hold the postcode of an establishment, not of a person: the GIAS register
#: (``Postcode``), the DfE performance tables (``PCODE``), and the booking export's ``Organisation
#: Postcode`` (the address of the school or organisation the participant booked from).
INSTITUTION_POSTCODE_COLUMNS = ("Postcode", "PCODE", "Organisation Postcode")
#: Raw columns that hold the name of an establishment (public): a person's name that is also part of a school's
#: name ("Richard Hill Primary School") is not reported where the whole school name stands.
INSTITUTION_NAME_COLUMNS = ("EstablishmentName", "LinkName", "SCHNAME", "Organisation Name")

#: Contract columns that are replaced by a keyed hash on reading: their raw values must never appear.
PSEUDONYMISED_COLUMNS = ("participant_id",)

#: Column names (as word sequences) that identify a person or describe one pupil.
PERSON_COLUMN_WORDS = (("email",), ("e", "mail"), ("contact", "name"), ("contact", "email"), ("contact", "id"),
                       ("full", "name"), ("forename",), ("surname",), ("first", "name"), ("last", "name"),
                       ("date", "of", "birth"), ("dob",), ("home", "postcode"), ("phone",), ("telephone",),
                       ("mobile",), ("ni", "number"))
PUPIL_COLUMN_WORDS = (("upn",), ("uln",), ("pmr",), ("pupil", "id"), ("pupil", "matching"), ("pupil", "number"),
                      ("candidate", "number"), ("candidate", "no"), ("candidate", "id"), ("student", "id"))

#: Columns that, beside a school id and an academic year, may legitimately split school-level attainment.
_ATTAINMENT_SPLITS = ("key_stage", "rectype", "measure", "bound", "source_file", "source_column")
_SCHOOL_IDS = ("urn", "school_key")


#: Files read or scanned at once, in threads (polars reads and filters outside Python's lock): the audit runs
#: near the end of a run, with little beside it, on machines of two cores or more.
SCAN_WORKERS = 2


def normalise_postcode(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def words(text: str) -> list[str]:
    """The words of ``text``, case-folded (apostrophes inside a word kept: O'Brien is one word)."""
    return _WORD.findall(text.replace("\u2019", "'").casefold())


@dataclass(frozen=True)
class Finding:
    path: str
    where: str
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.path} [{self.where}]: {self.kind}: {self.value}"


@dataclass
class Watchlist:
    """What must not appear in derived files, collected from the raw inputs of a run."""

    phrases: set[tuple[str, ...]] = field(default_factory=set)   # personal values of two words or more
    emails: set[str] = field(default_factory=set)                # case-folded
    raw_ids: set[str] = field(default_factory=set)               # case-folded raw ids of pseudonymised columns
    personal_postcodes: set[str] = field(default_factory=set)    # normalised postcodes from personal columns
    institution_postcodes: set[str] = field(default_factory=set)
    #: personal phrase -> the institution names (word tuples) that contain it
    institution_names: dict[tuple[str, ...], list[tuple[str, ...]]] = field(default_factory=dict)
    documented_postcodes: set[str] = field(default_factory=set)  # examples in the contracts' descriptions
    skipped_single_words: int = 0
    #: (file, column) of raw columns holding email addresses that no contract declares personal
    undeclared_personal: list[tuple[str, str]] = field(default_factory=list)

    _longest: tuple[int, int] = field(default=(0, 0), repr=False, compare=False)   # (phrases counted, longest)
    _starts: tuple = field(default=(None, None), repr=False, compare=False)    # (sets seen, phrase starts)
    _lists: tuple = field(default=(None, None), repr=False, compare=False)     # (sets seen, polars lists)

    @property
    def max_words(self) -> int:
        """Words in the longest watched phrase (counted again only when phrases were added: they never go)."""
        if self._longest[0] != len(self.phrases):
            self._longest = (len(self.phrases), max((len(p) for p in self.phrases), default=0))
        return self._longest[1]

    def _seen(self) -> tuple:
        """Which sets the cached views below were made from (values are added to them, never taken away)."""
        return tuple((id(s), len(s)) for s in (self.phrases, self.raw_ids, self.personal_postcodes,
                                               self.institution_postcodes, self.documented_postcodes))

    @property
    def phrase_starts(self) -> set[str]:
        """The words a watched phrase starts with: a phrase is only looked for where one stands."""
        if self._starts[0] != self._seen():
            self._starts = (self._seen(), {p[0] for p in self.phrases})
        return self._starts[1]

    def polars_lists(self) -> dict[str, pl.Series]:
        """Sets as polars lists (one row each) for ``is_in``, made once per watchlist, not as literals for every
        column scanned (the 165,000 first words alone took 1.1 s on the national year): ``first_words``, the
        phrase starts and raw ids; ``personal_postcodes``; ``public_postcodes``, those of institutions and the
        documentation."""
        if self._lists[0] != self._seen():
            lists = {"first_words": self.phrase_starts | self.raw_ids, "personal_postcodes": self.personal_postcodes,
                     "public_postcodes": self.institution_postcodes | self.documented_postcodes}
            self._lists = (self._seen(), {k: pl.Series(list(v), dtype=pl.Utf8).implode() for k, v in lists.items()})
        return self._lists[1]

    def absorb(self, other: "Watchlist") -> None:
        """Add what ``other`` watches (another file's values) to this watchlist."""
        for mine, theirs in ((self.phrases, other.phrases), (self.emails, other.emails),
                             (self.raw_ids, other.raw_ids), (self.personal_postcodes, other.personal_postcodes),
                             (self.institution_postcodes, other.institution_postcodes),
                             (self.documented_postcodes, other.documented_postcodes)):
            mine.update(theirs)
        for phrase, names in other.institution_names.items():
            self.institution_names.setdefault(phrase, []).extend(names)
        self.skipped_single_words += other.skipped_single_words
        self.undeclared_personal += other.undeclared_personal

    def add_personal(self, value: str) -> None:
        value = value.strip()
        if not value:
            return
        if EMAIL.fullmatch(value):
            self.emails.add(value.casefold())
        elif POSTCODE.fullmatch(value):
            self.personal_postcodes.add(normalise_postcode(value))
        else:
            w = tuple(words(value))
            if len(w) >= 2 and any(len(x) > 1 for x in w):
                self.phrases.add(w)
            elif w:
                self.skipped_single_words += 1


def _read_raw(path: Path, encoding: str) -> pl.DataFrame:
    """Every column of a raw input as text, as the ingest reader gives it (blank cells null, no ``source_row``).

    An ordinary CSV file is handed to polars as it is (:func:`_read_plain_csv`); anything else (another
    encoding, a byte order mark of UTF-16, title or ``sep=`` lines, blank lines before the header, ragged or
    truncated rows, a workbook) goes through the defensive reader, trying the stated encoding, then detection,
    UTF-8 and Windows-1252, and raising its error when none reads."""
    plain = _read_plain_csv(path, encoding)
    return plain if plain is not None else _read_defensive(path, encoding)


#: Encodings whose decoding :func:`_read_plain_csv` can tell in advance (``codecs`` names): the watchlist's
#: own ``auto``, UTF-8 and the single-byte encodings of Windows exports.
_PLAIN_ENCODINGS = ("auto", "utf-8", "cp1252", "iso8859-1")


def _read_plain_csv(path: Path, encoding: str) -> pl.DataFrame | None:
    """The frame :func:`_read_defensive` would give for an ordinary CSV file, read without its per-file Python
    work (decoding, encoding detection, line scans: 0.15 s per 40 MB), or None when the file is not ordinary.

    The defensive reader tries ``encoding``, then ``auto``, UTF-8 and Windows-1252, so that a readable file
    ends up decoded as: UTF-8 when its bytes are valid UTF-8 (a single-byte encoding is refused for UTF-8
    text, and ASCII reads the same in all), else Windows-1252 (``auto`` and ``utf-8``) or the single-byte
    encoding asked for. It then hands the text, encoded as UTF-8, to the same ``pl.read_csv`` call as here.
    Ordinary means every check it makes before and after that call passes: a first line that is a header of
    two or more distinct names (not blank, no ``sep=``, the same names polars reads), a line break at the
    end (not truncated), LF line ends somewhere (not CR alone), and polars reading it without error (no
    record with more fields than the header) with at least one value. Blank records the defensive reader drops
    come back as rows of nulls here, which add nothing to a watchlist."""
    import codecs
    import csv

    from .ingest.excel import sniff

    try:
        enc = encoding if encoding == "auto" else codecs.lookup(encoding).name
    except LookupError:
        return None
    if path.suffix.lower() != ".csv" or enc not in _PLAIN_ENCODINGS or sniff(path) != "text":
        return None
    data = path.read_bytes()
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or not data.endswith(b"\n"):
        return None
    bom = data.startswith(codecs.BOM_UTF8)
    if bom:
        data = data[len(codecs.BOM_UTF8):]
    try:   # validity only (polars checks UTF-8 ten times faster than bytes.decode)
        pl.Series([data], dtype=pl.Binary).cast(pl.Utf8)
    except pl.exceptions.ComputeError:
        if bom:
            return None
        single = "cp1252" if enc in ("auto", "utf-8") else enc
        try:
            data = data.decode(single).encode("utf-8")
        except UnicodeDecodeError:
            return None
    first = data[:data.find(b"\n")].rstrip(b"\r").decode("utf-8")
    if first.strip().lower().startswith("sep="):
        return None
    header = next(csv.reader([first]))   # (a quoted name spanning lines would make polars' header differ)
    if len([h for h in header if h.strip()]) < 2 or len(set(header)) < len(header):
        return None
    try:
        df = pl.read_csv(data, infer_schema=False, has_header=True, empty_string_is_null=True,
                         raise_if_empty=False)
    except pl.exceptions.ComputeError:
        return None
    if df.columns != header or df.height == 0:
        return None
    # blank cells: polars gives "" for a quoted empty field; the defensive reader makes every blank a null
    df = df.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in df.columns)
    if all(n == df.height for n in df.null_count().row(0)):   # perhaps only blank lines: it says "no data rows"
        return None
    return df


def _read_defensive(path: Path, encoding: str) -> pl.DataFrame:
    from .errors import InputError
    from .ingest.csvread import read_text_csv

    last: Exception | None = None
    for enc in dict.fromkeys([encoding, "auto", "utf-8", "cp1252"]):
        try:
            return read_text_csv(path, encoding=enc).drop("source_row")
        except InputError as exc:
            last = exc
    raise last  # type: ignore[misc]


def build_watchlist(raw_files: Iterable[tuple[str | Path, str]], contracts: Sequence | None = None,
                    documentation: Iterable[str] | None = None, workers: int | None = None) -> Watchlist:
    """Collect the personal values, raw ids and institution postcodes of the raw CSV inputs.

    ``raw_files``: (path, encoding) pairs. ``contracts``: the data contracts (default: ``schemas/``);
    their ``personal:`` lists name the personal columns, and their ``participant_id`` columns name the
    raw id columns (by ``source``). ``documentation``: texts whose example postcodes may appear in outputs
    (default: the contract files, which the methods chapter prints as the data dictionary). ``workers``: files
    read at once (default :data:`SCAN_WORKERS`).
    """
    from . import SCHEMAS_DIR
    from .contracts import list_contracts

    contracts = list(contracts) if contracts is not None else list_contracts()
    if documentation is None:
        documentation = [f.read_text(encoding="utf-8") for f in sorted(SCHEMAS_DIR.glob("*.yaml"))]
    personal = {col for c in contracts for col in c.personal}
    raw_id_cols = {col.source for c in contracts for col in c.columns
                   if col.name in PSEUDONYMISED_COLUMNS and col.source}
    wl = Watchlist()
    for text in documentation:
        wl.documented_postcodes.update(normalise_postcode(m.group()) for m in POSTCODE.finditer(text))
    # words of values, as space-joined keys (words hold no space), gathered over all files and made into
    # tuples once: the same names recur in every year's export
    split_keys: list[pl.Series] = []    # a row's personal cells joined
    phrase_keys: list[pl.Series] = []   # personal values of two words or more
    name_keys: list[pl.Series] = []     # institution names
    # files are read and reduced to their values two at a time (polars works outside Python's lock), and
    # merged in file order: the same watchlist, and the first unreadable file's error, as one at a time
    with ThreadPoolExecutor(max_workers=max(1, workers or SCAN_WORKERS)) as pool:
        for part in pool.map(lambda pe: _file_values(Path(pe[0]), pe[1], personal, raw_id_cols), raw_files):
            if part is not None:
                wl.absorb(part.watchlist)
                split_keys += part.split_keys
                phrase_keys += part.phrase_keys
                name_keys += part.name_keys
    wl.phrases.update(tuple(key.split(" ")) for key in _unique(phrase_keys))
    for key in _unique(split_keys):
        w = key.split(" ")
        # runs of initials alone ("C C" of a head called C C Muller) identify nobody and read like
        # the suppression marker of two adjacent cells: not watched
        wl.phrases.update(tuple(w[i:j]) for i in range(len(w)) for j in range(i + 2, len(w) + 1)
                          if any(len(x) > 1 for x in w[i:j]))
    longest = wl.max_words
    starts = wl.phrase_starts
    for key in _unique(name_keys):
        name = tuple(key.split(" "))
        for i in range(len(name) - 1):
            if name[i] in starts:   # (a phrase can only start at its first word)
                for k in range(2, min(len(name) - i, longest) + 1):
                    if name[i:i + k] in wl.phrases:
                        wl.institution_names.setdefault(name[i:i + k], []).append(name)
    return wl


@dataclass
class _FileValues:
    """What one raw file adds to a watchlist (see :func:`build_watchlist`)."""

    watchlist: Watchlist
    split_keys: list[pl.Series]
    phrase_keys: list[pl.Series]
    name_keys: list[pl.Series]


def _file_values(path: Path, encoding: str, personal: set[str], raw_id_cols: set[str]) -> _FileValues | None:
    """The watched values of one raw file (None for a file that is not a CSV or workbook, or is missing)."""
    if path.suffix.lower() not in (".csv", ".xlsx") or not path.is_file():
        return None
    wl = Watchlist()
    out = _FileValues(wl, [], [], [])
    df = _read_raw(path, encoding)
    # a name split over columns (title, first name, last name): watch its runs of two words or more
    split = [c for c in df.columns if c in personal]
    if len(split) > 1:
        # each row's cells that hold no email address, joined (words never span the joining space), once each
        joined = df.select(pl.concat_str([pl.when(~pl.col(c).str.contains(EMAIL.pattern)).then(pl.col(c))
                                          for c in split], separator=" ", ignore_nulls=True)).to_series()
        out.split_keys.append(_word_keys(joined.drop_nulls().unique()))
    # any other column holding an email address, all columns in one pass (an ASCII pattern: polars and re
    # agree; trimming a value cannot make or break a match)
    others = [c for c in df.columns if c not in personal]
    if others:
        has_email = df.select(pl.col(c).str.contains(EMAIL.pattern).any() for c in others).row(0)
        wl.undeclared_personal += [(str(path), c) for c, found in zip(others, has_email) if found]
    for col in df.columns:
        if not (col in personal or col in raw_id_cols or col in INSTITUTION_POSTCODE_COLUMNS
                or col in INSTITUTION_NAME_COLUMNS):
            continue
        values = df[col].drop_nulls().str.strip_chars()
        values = values.filter(values.str.len_chars() > 0).unique()
        if col in personal:
            out.phrase_keys.append(_add_personal_values(wl, values))
        if col in raw_id_cols:
            wl.raw_ids.update(_casefolded(values))
        if col in INSTITUTION_POSTCODE_COLUMNS:
            wl.institution_postcodes.update(_normalised_postcodes(values))
        if col in INSTITUTION_NAME_COLUMNS:
            out.name_keys.append(_word_keys(values))
    return out


# --------------------------------------------------------------------------- the watchlist's values, vectorised

#: Text that Python and polars treat alike: ASCII, where lower case is case folding and both regex engines
#: agree on words, ``\s`` and the email and postcode patterns, less the separators U+001C-U+001F, which
#: Python's ``str.strip`` and ``\s`` count as white space and polars does not. Other text goes the Python way.
_PLAIN = r"^[\x00-\x1B\x20-\x7F]*$"


def _unique(keys: list[pl.Series]) -> list[str]:
    """The distinct non-empty keys of several series (the words of a value, space-joined)."""
    if not keys:
        return []
    return [k for k in pl.concat(keys).unique().to_list() if k]


def _word_keys(values: pl.Series) -> pl.Series:
    """``" ".join(words(v))`` for each value: polars for plain text, :func:`words` for the rest."""
    plain = values.str.contains(_PLAIN)
    fast = values.filter(plain).str.to_lowercase().str.extract_all(_WORD.pattern).list.join(" ")
    slow = pl.Series([" ".join(words(v)) for v in values.filter(~plain).to_list()], dtype=pl.Utf8)
    return pl.concat([fast, slow])


def _casefolded(values: pl.Series) -> list[str]:
    plain = values.str.contains(_PLAIN)
    return values.filter(plain).str.to_lowercase().to_list() + [v.casefold() for v in values.filter(~plain).to_list()]


def _normalised_postcodes(values: pl.Series) -> list[str]:
    """:func:`normalise_postcode` of each value."""
    plain = values.str.contains(_PLAIN)
    return (values.filter(plain).str.replace_all(r"\s+", "").str.to_uppercase().to_list()
            + [normalise_postcode(v) for v in values.filter(~plain).to_list()])


def _add_personal_values(wl: Watchlist, values: pl.Series) -> pl.Series:
    """:meth:`Watchlist.add_personal` of each value, in polars for plain text: emails and postcodes are added,
    single words counted, and the keys of the phrases (words space-joined) returned, to be added once.

    ``values`` are distinct and trimmed by polars (as :meth:`~Watchlist.add_personal` trims plain text)."""
    plain = values.str.contains(_PLAIN)
    for v in values.filter(~plain).to_list():
        wl.add_personal(v)
    values = values.filter(plain)
    email = values.str.contains(f"^(?:{EMAIL.pattern})$")
    postcode = ~email & values.str.contains(f"^(?:{POSTCODE.pattern})$")
    wl.emails.update(values.filter(email).str.to_lowercase().to_list())
    wl.personal_postcodes.update(_normalised_postcodes(values.filter(postcode)))
    w = values.filter(~email & ~postcode).str.to_lowercase().str.extract_all(_WORD.pattern)
    phrase = (w.list.len() >= 2) & w.list.eval(pl.element().str.len_chars() > 1).list.any()
    wl.skipped_single_words += int(((w.list.len() >= 1) & ~phrase).sum())
    return w.filter(phrase).list.join(" ")


def _inside_institution_name(w: list[str], i: int, phrase: tuple[str, ...], wl: Watchlist) -> bool:
    """Whether the ``phrase`` found at ``w[i]`` stands inside a whole institution name there."""
    for name in wl.institution_names.get(phrase, ()):
        for j in range(len(name) - len(phrase) + 1):
            if name[j:j + len(phrase)] == phrase and tuple(w[i - j:i - j + len(name)]) == name:
                return True
    return False


# --------------------------------------------------------------------------- scanning text

#: Below this many values the pre-filter costs more than it saves.
PREFILTER_MIN_VALUES = 2000


def could_leak(values: Sequence[str], wl: Watchlist) -> list[str]:
    """The values :func:`scan_values` could find something in, chosen in one vectorised pass; the others (most
    cells of a large table: ids, hashes, codes) cannot hold a finding and are not looked at word by word.

    A value stays when it is not plain ASCII (Python's case folding and word rules then decide), holds an "@"
    (an email address), a postcode that is personal or not public (the tens of thousands of school postcodes
    in the tables are not), or a word that a watched phrase starts with or that is a raw id. For ASCII text,
    lower case is case folding and the word and postcode patterns match the same in both regex engines, so no
    value that could give a finding is dropped; a test compares the findings with and without it."""
    if len(values) < PREFILTER_MIN_VALUES:
        return list(values)
    return _filter_could_leak(pl.DataFrame({"value": values}, schema={"value": pl.Utf8}), wl)["value"].to_list()


def _filter_could_leak(df: pl.DataFrame, wl: Watchlist) -> pl.DataFrame:
    """The rows of ``df`` whose ``value`` :func:`scan_values` could find something in (see :func:`could_leak`).

    In two steps: what is kept for sure (non-ASCII, "@", a watched first word) or holds a postcode, then, of the
    values kept only for their postcodes (tens of thousands of school postcodes), those with a postcode that is
    personal or not public: the postcodes are looked up only in those few values."""
    lists = wl.polars_lists()
    value = pl.col("value")
    sure = (~value.str.contains(r"^[\x00-\x7F]*$") | value.str.contains("@", literal=True)
            | value.str.to_lowercase().str.extract_all(_WORD.pattern)
            .list.eval(pl.element().is_in(lists["first_words"])).list.any()).fill_null(True)
    df = df.with_columns(sure.alias("_sure")).filter(pl.col("_sure") | value.str.contains(POSTCODE.pattern))
    postcode = pl.element().str.replace_all(" ", "", literal=True).str.to_uppercase()   # (the pattern's one space)
    unsafe = (postcode.is_in(lists["personal_postcodes"]) | ~postcode.is_in(lists["public_postcodes"]))
    return df.filter(pl.col("_sure") | value.str.extract_all(POSTCODE.pattern).list.eval(unsafe).list.any()
                     ).drop("_sure")


def scan_values(values: Iterable[str], wl: Watchlist, path: str, where: str) -> list[Finding]:
    """Findings in each text value (a table cell, a JSON string, a whole report)."""
    found: dict[tuple[str, str], None] = {}
    n = wl.max_words
    starts = wl.phrase_starts
    for value in values:
        if not value:
            continue
        for m in EMAIL.finditer(value):
            found[("email address", m.group())] = None
        for m in POSTCODE.finditer(value):
            pc = normalise_postcode(m.group())
            if pc in wl.personal_postcodes:
                found[("personal postcode", m.group())] = None
            elif pc not in wl.institution_postcodes and pc not in wl.documented_postcodes:
                found[("postcode of no school or organisation in the inputs", m.group())] = None
        w = words(value)
        for i, token in enumerate(w):
            if token in wl.raw_ids:
                found[("raw (unhashed) participant id", token)] = None
            if token not in starts:   # (most words of a report: no phrase starts there)
                continue
            for k in range(2, n + 1):
                if i + k > len(w):
                    break
                phrase = tuple(w[i:i + k])
                if phrase in wl.phrases and not _inside_institution_name(w, i, phrase, wl):
                    found[("personal value (name)", " ".join(phrase))] = None
    return [Finding(path, where, kind, value) for kind, value in found]


def _column_words(name: str) -> tuple[str, ...]:
    return tuple(re.sub(r"([a-z])([A-Z])", r"\1_\2", name).casefold().replace("-", "_").replace(" ", "_")
                 .strip("_").split("_"))


def _contains(seq: tuple[str, ...], sub: tuple[str, ...]) -> bool:
    return any(seq[i:i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


def column_findings(columns: Iterable[str], path: str) -> list[Finding]:
    """Columns whose names identify a person or a pupil."""
    out = []
    for col in columns:
        w = _column_words(col)
        if any(_contains(w, p) for p in PUPIL_COLUMN_WORDS):
            out.append(Finding(path, col, "pupil identifier column", col))
        elif any(_contains(w, p) for p in PERSON_COLUMN_WORDS):
            out.append(Finding(path, col, "personal column", col))
    return out


def attainment_measure_names(measures_file: str | Path = CONFIG_DIR / "measures.yaml") -> set[str]:
    """Canonical attainment measure names (``config/measures.yaml``), as wide column names."""
    from .config import safe_yaml

    data = safe_yaml(Path(measures_file).read_text(encoding="utf-8"))
    return {m for ks in data.values() if isinstance(ks, dict) for m in (ks.get("measures") or {})}


def pupil_row_findings(df: pl.DataFrame, path: str, measures: set[str]) -> list[Finding]:
    """A table with attainment values must have at most one row per school, year and split.

    Attainment is published per school; a table holding attainment values (a measure column, or
    ``measure`` and ``value``) with several rows for one school, year, key stage, measure and bound has
    rows finer than a school: pupil rows.
    """
    school = next((c for c in _SCHOOL_IDS if c in df.columns), None)
    has_values = bool(measures & set(df.columns) - {"pupils"}) or {"measure", "value"} <= set(df.columns)
    if school is None or "academic_year" not in df.columns or not has_values or df.is_empty():
        return []
    keys = [school, "academic_year", *[c for c in _ATTAINMENT_SPLITS if c in df.columns]]
    repeated = int(df.select(keys).is_duplicated().sum())
    if repeated:
        return [Finding(path, ", ".join(keys), "rows finer than school x year (pupil rows?)",
                        f"{repeated} rows share their {', '.join(keys)}")]
    return []


# --------------------------------------------------------------------------- reading files

def _strings_of_json(obj) -> Iterator[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings_of_json(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings_of_json(v)
    elif isinstance(obj, str):
        yield obj


def png_text(path: str | Path) -> list[str]:
    """The text chunks (tEXt, zTXt, iTXt) of a PNG file: the only text a figure file carries."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return []
    out, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"tEXt":
            out.append(body.replace(b"\x00", b" ").decode("latin-1"))
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\x00")
            out.append(key.decode("latin-1") + " " + zlib.decompress(rest[1:]).decode("latin-1"))
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\x00")
            compressed, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\x00")
            _tkey, _, text = rest.partition(b"\x00")
            text = zlib.decompress(text) if compressed else text
            out.append(key.decode("latin-1") + " " + text.decode("utf-8", "replace"))
        elif kind == b"IEND":
            break
    return out


def report_text(text: str) -> str:
    """A rendered report as text to scan: embedded images (data URIs) removed, entities decoded."""
    return html.unescape(_DATA_URI.sub("data:", text))


def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        parts = [z.read(n).decode("utf-8", "replace") for n in z.namelist()
                 if n.startswith(("word/", "docProps/")) and n.endswith(".xml")]
    return html.unescape(re.sub(r"<[^>]+>", " ", " ".join(parts)))


def _table_strings(df: pl.DataFrame, wl: Watchlist) -> Iterator[tuple[str, list[str]]]:
    """Each text column of ``df`` (lists exploded, categoricals as text) with those of its distinct values that
    could hold a finding (:func:`could_leak`; all of them in a small table).

    One query for the whole table: the distinct values of every column, stacked, filtered at once; only the
    values kept become Python strings (a large table has a million distinct ids, hashes and codes)."""
    columns = []
    for col, dtype in df.schema.items():
        e = pl.col(col)
        if isinstance(dtype, pl.List):
            e, dtype = e.explode(), dtype.inner
        if dtype in (pl.Utf8, pl.Categorical) or isinstance(dtype, pl.Enum):
            columns.append((col, e.cast(pl.Utf8).drop_nulls().unique()))
    if not columns:
        return
    distinct = pl.concat([df.lazy().select(e.alias("value"), pl.lit(i, pl.UInt32).alias("column"))
                          for i, (_, e) in enumerate(columns)]).collect()
    if distinct.height >= PREFILTER_MIN_VALUES:
        distinct = _filter_could_leak(distinct, wl)
    values: list[list[str]] = [[] for _ in columns]
    for i, v in zip(distinct["column"].to_list(), distinct["value"].to_list()):
        values[i].append(v)
    for (col, _), vals in zip(columns, values):
        yield col, vals


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)     # files scanned, by kind

    @property
    def n_files(self) -> int:
        return sum(self.files.values())


def scan_file(path: Path, wl: Watchlist, measures: set[str], label: str | None = None) -> tuple[str, list[Finding]]:
    """Scan one file; returns its kind (parquet, csv, json, png, html, docx, text) and the findings."""
    p = label or str(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        df = pl.read_parquet(path)
        found = column_findings(df.columns, p) + pupil_row_findings(df, p, measures)
        found += scan_values(df.columns, wl, p, "column names")
        for col, values in _table_strings(df, wl):
            found += scan_values(values, wl, p, col)
        return "parquet", found
    if suffix == ".png":
        return "png", scan_values(png_text(path), wl, p, "PNG text")
    if suffix == ".docx":
        return "docx", scan_values([_docx_text(path)], wl, p, "document text")
    text = path.read_bytes().decode("utf-8", "replace")
    if suffix in (".html", ".htm"):
        return "html", scan_values([report_text(text)], wl, p, "report")
    if suffix == ".json":
        return "json", scan_values(_strings_of_json(json.loads(text)), wl, p, "JSON")
    if suffix in (".csv", ".tsv"):
        lines = text.splitlines()
        header = re.split(r"[,\t]", lines[0]) if lines else []
        return "csv", column_findings([h.strip('"') for h in header], p) + scan_values(lines, wl, p, "line")
    return "text", scan_values(text.splitlines(), wl, p, "line")


def scan_paths(roots: Iterable[str | Path], wl: Watchlist, measures: set[str] | None = None,
               relative_to: str | Path | None = None, workers: int | None = None,
               exclude: Iterable[str | Path] = ()) -> ScanResult:
    """Scan every file under ``roots`` (folders or files), in a stable order, but those in ``exclude``.

    Files are scanned ``workers`` at a time in threads (polars reads and filters outside Python's lock); the
    findings come back in file order, the same as one at a time. The watchlist's cached views are made before
    the threads start, so they only read it."""
    measures = attainment_measure_names() if measures is None else measures
    skip = {Path(f).resolve() for f in exclude}
    files: list[tuple[Path, str]] = []
    for root in roots:
        root = Path(root)
        for f in [root] if root.is_file() else sorted(f for f in root.rglob("*") if f.is_file()):
            if f.resolve() not in skip:
                files.append((f, str(f.relative_to(relative_to)) if relative_to else str(f)))
    wl.max_words, wl.phrase_starts, wl.polars_lists()   # noqa: B018 (made once, read by every thread)
    result = ScanResult()
    with ThreadPoolExecutor(max_workers=max(1, workers or SCAN_WORKERS)) as pool:
        for kind, found in pool.map(lambda fl: scan_file(fl[0], wl, measures, fl[1]), files):
            result.files[kind] = result.files.get(kind, 0) + 1
            result.findings += found
    return result
