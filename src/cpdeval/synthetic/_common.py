"""Shared helpers of the synthetic generator: years, dates, formatting, CSV writing, definitions on disk."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from ..config import safe_yaml

from .. import CONFIG_DIR, SCHEMAS_DIR

EPOCH = dt.date(1970, 1, 1)
FAR_FUTURE = 99999  # day number used for "never"


# --------------------------------------------------------------------------------------------------
# Random streams: one independent generator per component, all derived from the run seed
# --------------------------------------------------------------------------------------------------
def stream(seed: int, name: str) -> np.random.Generator:
    """A generator for one component; streams are independent and stable whatever the call order."""
    tag = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")
    return np.random.default_rng([int(seed), tag])


# --------------------------------------------------------------------------------------------------
# Years and dates
# --------------------------------------------------------------------------------------------------
def year_start(label: str) -> int:
    """'2018-19' -> 2018."""
    return int(str(label)[:4])


def day(y: int, m: int, d: int) -> int:
    return (dt.date(y, m, d) - EPOCH).days


def to_date(n: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(n))


def days_to_dates(days: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(days, dtype=np.int64)).cast(pl.Int32).cast(pl.Date)


def fmt_dates(days, fmt: str) -> pl.Series:
    """Format day numbers; negative or FAR_FUTURE values give null (blank)."""
    arr = np.asarray(days, dtype=np.int64)
    bad = (arr < 0) | (arr >= FAR_FUTURE)
    s = days_to_dates(np.where(bad, 0, arr)).dt.strftime(fmt)
    return pl.DataFrame({"s": s, "bad": bad}).select(
        pl.when(pl.col("bad")).then(None).otherwise(pl.col("s")).alias("s"))["s"]


@dataclass(frozen=True)
class Years:
    delivery: list[str]          # financial years, e.g. 2014-15
    attainment: list[str]        # academic years
    reporting: str
    fy_month: int

    @classmethod
    def from_config(cls, cfg: dict) -> "Years":
        y = cfg["years"]
        return cls([str(v) for v in y["delivery"]], [str(v) for v in y.get("attainment") or []],
                   str(y["reporting"]), int(y["financial_year_start_month"]))

    def fy_bounds(self, label: str) -> tuple[int, int]:
        """First and last day number of a financial year."""
        s = year_start(label)
        start = day(s, self.fy_month, 1)
        end = day(s + 1, self.fy_month, 1) - 1
        return start, end

    @property
    def window(self) -> tuple[int, int]:
        return self.fy_bounds(self.delivery[0])[0], self.fy_bounds(self.delivery[-1])[1]


# --------------------------------------------------------------------------------------------------
# Definitions read at run time
# --------------------------------------------------------------------------------------------------
def load_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return safe_yaml(fh)


def load_config(config: dict | None) -> dict:
    return config if config is not None else load_yaml(CONFIG_DIR / "config.yaml")


def load_measures() -> dict:
    return load_yaml(CONFIG_DIR / "measures.yaml")


def _labels(values):
    """Scale labels as text: YAML 1.1 reads unquoted Yes / No as booleans."""
    return [("Yes" if v else "No") if isinstance(v, bool) else str(v) for v in values or []]


def load_instruments() -> tuple[dict[str, dict], dict]:
    """Instrument definitions (by name, in file-name order) and the shared scales."""
    folder = SCHEMAS_DIR / "instruments"
    scales = load_yaml(folder / "scales.yaml")
    scales = {name: {k: (_labels(v) if isinstance(v, list) else v) for k, v in spec.items()}
              for name, spec in scales.items()}
    out = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "scales.yaml":
            continue
        spec = load_yaml(path)
        out[spec.get("name", path.stem)] = spec
    return out, scales


# --------------------------------------------------------------------------------------------------
# Number formatting (vectorised)
# --------------------------------------------------------------------------------------------------
def fmt_num(values, dp: int, strip: bool = True) -> np.ndarray:
    """Decimal strings with at most ``dp`` places; ``strip`` drops trailing zeros ('46.0' -> '46')."""
    v = np.round(np.asarray(values, dtype=float), dp) + 0.0
    s = pl.Series(v).cast(pl.Utf8)
    if strip:
        s = s.str.replace(r"\.0$", "")
    else:
        s = pl.Series([f"{x:.{dp}f}" for x in v])
    out = s.to_numpy().astype(object)
    out[~np.isfinite(v)] = None
    return out


def fmt_int(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    out = pl.Series(np.where(np.isfinite(v), v, 0).round().astype(np.int64)).cast(pl.Utf8).to_numpy().astype(object)
    out[~np.isfinite(v)] = None
    return out


def fmt_pct(values, dp: int = 0) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if dp == 0:
        s = fmt_int(v)
    else:
        s = np.array([f"{x:.{dp}f}" if np.isfinite(x) else None for x in v], dtype=object)
    out = np.array([None if x is None else x + "%" for x in s], dtype=object)
    return out


def fmt_money(values) -> np.ndarray:
    """'£1,234.50', '0' for free, None for blank (NaN)."""
    v = np.asarray(values, dtype=float)
    out = np.empty(len(v), dtype=object)
    uniq, inv = np.unique(np.where(np.isfinite(v), v, -1.0), return_inverse=True)
    labels = []
    for u in uniq:
        labels.append(None if u < 0 else ("0" if u == 0 else f"£{u:,.2f}"))
    out[:] = np.array(labels, dtype=object)[inv]
    return out


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------
def render_csv(df: pl.DataFrame, *, encoding: str = "utf-8", bom: bool = False, crlf: bool = False,
               quote_all: bool = False) -> bytes:
    """CSV bytes of ``df`` (every column written as text; null and '' are blank)."""
    df = df.select([pl.col(c).cast(pl.Utf8) for c in df.columns])
    if not quote_all:   # blank cells unquoted; polars quotes '' but not null
        df = df.with_columns([pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in df.columns])
    buf = io.BytesIO()
    df.write_csv(buf, quote_style="always" if quote_all else "necessary",
                 line_terminator="\r\n" if crlf else "\n")
    data = buf.getvalue()
    if encoding.lower().replace("-", "") not in ("utf8",):
        data = data.decode("utf-8").encode(encoding)   # strict: a character the encoding lacks is a bug
    if bom:
        data = b"\xef\xbb\xbf" + data
    return data


class Writer:
    """Writes files under ``root`` and records path, rows and SHA-256 for the manifest."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.files: list[dict] = []

    def write_bytes(self, rel: str, data: bytes, rows: int | None) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files.append({"path": rel, "rows": rows, "sha256": hashlib.sha256(data).hexdigest(),
                           "bytes": len(data)})

    def write_csv(self, rel: str, df: pl.DataFrame, **kw) -> int:
        self.write_bytes(rel, render_csv(df, **kw), df.height)
        return df.height
