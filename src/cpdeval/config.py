"""Loading and checking the run configuration.

The configuration is a YAML file (``config/config.yaml`` for the synthetic year, ``config/<year>.yaml``
for a real one). :func:`validate_config` checks it against ``schemas/config.schema.yaml`` and stops with a
message naming the offending key. :class:`RunConfig` answers the questions every stage asks (which files,
which years, where outputs go) so that no rule or module re-derives them.
"""

from __future__ import annotations

import copy
import functools
import glob
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from . import PROJECT_ROOT, SCHEMAS_DIR
from .errors import ConfigError

DEFAULT_CONFIG = PROJECT_ROOT / "config" / "config.yaml"
# programme reference files under `inputs:`, each optional (one ingest rule reads them all)
REFERENCE_TABLES = ("partnerships", "targets", "trained_leaders", "strategic_judgements", "resource_registrations",
                    "priority_schools", "survey_invited")
# the targeted programme's inputs: `inputs.targeted` key -> table (and its contract schemas/<table>.yaml)
TARGETED_INPUTS = {"targeted_schools": "targeted_schools", "ofsted": "targeted_ofsted", "maturity": "targeted_maturity",
                   "self_assessment": "targeted_self_assessment", "case_outcomes": "targeted_case_outcomes",
                   "monitoring": "targeted_monitoring"}
#: The comparator files kept in the repository (each read through its contract, schemas/<name>.yaml): figures
#: from other studies the impact chapter prints beside this year's survey (cpdeval.surveys.read_comparators).
COMPARATORS = {"benchmarks": "config/comparators/benchmarks.csv", "sources": "config/comparators/sources.csv"}
#: Files of an earlier run's derived folder that the year-on-year comparison reads (cpdeval.continuity).
PREVIOUS_FILES = {"delivery_summary": "delivery/summary.json", "reach": "delivery/reach.parquet",
                  "targets": "delivery/reach_targets.parquet",
                  "survey_summary": "surveys/survey_item_summary.parquet",
                  "attainment_summary": "attainment/summary.json", "comparisons": "attainment/comparisons.parquet"}
#: What a reader is told is missing when an optional input is not supplied.
ABSENT_WORDS = {"partnerships": "the list of regional partnerships and their lead schools",
                "targets": "the delivery targets",
                "trained_leaders": "the list of staff trained to lead CPD",
                "strategic_judgements": "interviewers' judgements of how strategically schools used CPD",
                "resource_registrations": "registrations with the resource library",
                "survey_invited": "the number of people invited to each survey (so no response rates are given)",
                "feedback_coded": "coded comments from the feedback forms",
                "census": "the school census (pupil numbers and characteristics)"}


def survey_instruments() -> list[str]:
    """Names of the survey instruments defined in ``schemas/instruments/`` (``scales.yaml`` is not one)."""
    return sorted(p.stem for p in (SCHEMAS_DIR / "instruments").glob("*.yaml") if p.stem != "scales")


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A key given twice in one YAML mapping."""


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """A YAML loader that refuses a key given twice in one mapping (plain YAML keeps the last silently: a second
    ``thresholds:`` block would replace the first without a word)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:   # an unhashable key: let PyYAML say so
                break
            if first is not None:
                raise DuplicateKeyError(
                    None, None, f"the key '{key}' appears twice in one block (first on line {first + 1}, again on "
                    f"line {key_node.start_mark.line + 1}); keep one, or the second silently replaces the first",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | Path) -> dict:
    """A YAML mapping from ``path``; a key given twice in one block stops with both line numbers."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except DuplicateKeyError as exc:
        raise ConfigError(f"configuration file {path}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping of keys, not {type(data).__name__}")
    return data


def _key_path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def validate_config(cfg: dict, source: str = "configuration", root: str | Path | None = None) -> dict:
    """Check ``cfg`` against the config schema, fill in the schema's defaults (in place: the config is then
    complete, and no module restates a default), then check for meaning (windows the years cannot fill, terms that
    collapse, unknown chapters or survey instruments, path templates); raise :class:`ConfigError` naming every
    bad key. ``root`` is the project folder (its ``reports/`` holds the chapters)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema())
    problems = []
    for err in sorted(validator.iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path))):
        where = _key_path(err.absolute_path)
        if err.validator == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
            for key in extra:
                key_name = f"{where}.{key}" if where != "(top level)" else key
                problems.append(f"unknown key '{key_name}' (allowed here: {', '.join(allowed)})")
        elif err.validator == "required":
            problems.append(f"key '{where}': {err.message}")
        else:
            problems.append(f"key '{where}': {err.message}")
    _check_years(cfg, problems)
    if not problems:   # the checks of meaning assume the types are right, and read the defaults filled in
        apply_defaults(cfg)
        _check_meaning(cfg, problems, Path(root) if root else PROJECT_ROOT)
    if problems:
        raise ConfigError(f"{source} is not valid:\n  - " + "\n  - ".join(problems))
    return cfg


def safe_yaml(source):
    """``yaml.safe_load`` with libyaml's C parser when it is installed (about 30 times faster; the same
    documents): every YAML file the pipeline reads goes through here or :func:`load_yaml`."""
    return yaml.load(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (a safe loader)


@functools.cache
def _schema() -> dict:
    with (SCHEMAS_DIR / "config.schema.yaml").open(encoding="utf-8") as fh:
        return safe_yaml(fh)


def schema_default(key: str):
    """The default the config schema gives ``key`` (dotted, e.g. ``"attainment.min_schools"``): the one place a
    default is written. Library functions take theirs from here, so a call outside the pipeline (a test, a
    notebook) behaves as a run whose config leaves the key out."""
    node = _schema()
    for part in key.split("."):
        node = (node.get("properties") or {}).get(part)
        if node is None:
            raise KeyError(f"config schema has no key {key!r}")
    if "default" not in node:
        raise KeyError(f"config schema gives {key!r} no default")
    return copy.deepcopy(node["default"])


def section_defaults(section: str) -> dict:
    """Every default the config schema gives inside ``section`` (e.g. ``"attainment"``): key -> value."""
    props = _schema()["properties"][section].get("properties") or {}
    return {k: schema_default(f"{section}.{k}") for k, spec in props.items() if "default" in spec}


def apply_defaults(cfg: dict, schema: dict | None = None) -> dict:
    """Fill every key the schema gives a ``default:`` and the config leaves out, in place (the schema is the
    one source of each default). A section with a default of ``{}`` is created so its own defaults apply."""
    schema = schema if schema is not None else _schema()
    for key, spec in (schema.get("properties") or {}).items():
        if key not in cfg and "default" in spec:
            cfg[key] = copy.deepcopy(spec["default"])
        if isinstance(cfg.get(key), dict) and spec.get("type") == "object":
            apply_defaults(cfg[key], spec)
    return cfg


def _check_years(cfg: dict, problems: list[str]) -> None:
    years = cfg.get("years") or {}
    for key in ("delivery", "attainment"):
        for y in years.get(key) or []:
            if isinstance(y, str) and len(y) == 7 and y[:4].isdigit() and y[5:].isdigit():
                if (int(y[:4]) + 1) % 100 != int(y[5:]):
                    problems.append(f"key 'years.{key}': {y} is not a year followed by the next (e.g. 2018-19)")
    reporting = years.get("reporting")
    if reporting and years.get("delivery") and reporting not in years["delivery"]:
        problems.append(f"key 'years.reporting': {reporting} is not one of years.delivery")


def _fy_label(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def attainment_years_needed(cfg: dict) -> dict:
    """What the attainment chapter's window needs: the outcome year, the financial years of CPD use counted
    (the ``window_years`` ending before the outcome year's exams) and the academic years of the change
    (base year to outcome year). One rule, used by the config check and documented in cpdeval.attainment."""
    years = cfg.get("years") or {}
    att = cfg.get("attainment") or {}
    attainment_years = years.get("attainment") or []
    outcome = att.get("outcome_year") or (attainment_years[-1] if attainment_years else None)
    window = int(att.get("window_years", schema_default("attainment.window_years")))
    if outcome is None:
        return {"outcome_year": None, "window": window, "financial_years": [], "academic_years": []}
    # FY Y0-Y1 ends before the summer exams of academic year Y0-Y1, so both lists run over the same labels
    labels = [_fy_label(s) for s in range(year_start(outcome) - window + 1, year_start(outcome) + 1)]
    return {"outcome_year": outcome, "window": window, "financial_years": labels, "academic_years": labels}


# placeholders each path template may hold (anything else is a typo, or a Snakemake wildcard by accident)
_PLACEHOLDERS = {"bookings": {"fy"}, "performance": {"start", "end"}}


def _template_fields(text: str) -> list[str] | None:
    """The ``{names}`` in a path template, or None when its braces do not parse."""
    import string

    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:
        return None


def _input_paths(inputs: dict):
    """(key, path) of every configured input path, templates unexpanded."""
    for key, value in inputs.items():
        if key.endswith(("_encoding", "_year")) or key == "sheets" or value is None:
            continue
        if isinstance(value, dict):
            for sub, path in value.items():
                yield f"inputs.{key}.{sub}", path
        elif isinstance(value, list):
            for i, path in enumerate(value):
                yield f"inputs.{key}[{i}]", path
        else:
            yield f"inputs.{key}", value


def _check_meaning(cfg: dict, problems: list[str], root: Path) -> None:
    years = cfg["years"]
    regular = (cfg.get("thresholds") or {}).get("regular_use")
    if regular and regular["min_years"] > regular["of_last"]:
        problems.append(f"key 'thresholds.regular_use': min_years {regular['min_years']} is more than of_last "
                        f"{regular['of_last']}: no school could ever be a regular user")
    terms = years.get("terms") or {}
    months = {}
    for term, month in terms.items():
        if month in months:
            problems.append(f"key 'years.terms': {term} and {months[month]} both start in month {month}; each "
                            "term needs its own first month")
        months.setdefault(month, term)

    chapters = (cfg.get("render") or {}).get("chapters") or []
    known = sorted(p.stem for p in (root / "reports").glob("*.qmd"))
    for name in chapters:
        if name == "qa":
            problems.append("key 'render.chapters': 'qa' is the analysts' quality report, built on every run after "
                            "the disclosure audit and never published; leave it out of render.chapters")
        elif known and name not in known:
            problems.append(f"key 'render.chapters': there is no chapter '{name}' (the chapters are: "
                            f"{', '.join(c for c in known if c != 'qa')})")
    previous = cfg.get("previous_years") or []
    if "trends" in chapters and not previous:
        problems.append("key 'render.chapters': the 'trends' chapter sets this year beside earlier ones; name their "
                        "derived folders in previous_years (e.g. [data/derived/2017-18])")
    for item in (cfg.get("report") or {}).get("prose") or []:
        where = str(item.get("at", ""))
        if ":" in where and where.split(":", 1)[1] not in chapters:
            problems.append(f"key 'report.prose': '{where}' names a chapter that is not in render.chapters "
                            f"({', '.join(chapters)})")
    instruments = survey_instruments()
    for name in (cfg["inputs"].get("surveys") or {}):
        if name not in instruments:
            problems.append(f"key 'inputs.surveys.{name}': no survey instrument '{name}' (the instruments are: "
                            f"{', '.join(instruments)}; a new one needs its file in schemas/instruments/)")

    for key, path in _input_paths(cfg["inputs"]):
        fields = _template_fields(path)
        allowed = next((v for k, v in _PLACEHOLDERS.items() if key.startswith(f"inputs.{k}")), set())
        if fields is None:
            problems.append(f"key '{key}': unbalanced braces in '{path}'")
            continue
        for name in fields:
            if name not in allowed:
                hint = (f"use {' and '.join('{' + a + '}' for a in sorted(allowed))}" if allowed
                        else "this path takes no placeholder")
                problems.append(f"key '{key}': unknown placeholder {{{name}}} in '{path}' ({hint})")

    if "attainment" in chapters:
        need = attainment_years_needed(cfg)
        attainment_years = years.get("attainment") or []
        if not attainment_years:
            problems.append("key 'years.attainment': the attainment chapter is listed in render.chapters but no "
                            "attainment years are given")
        elif need["outcome_year"] not in attainment_years:
            problems.append(f"key 'attainment.outcome_year': {need['outcome_year']} is not one of years.attainment "
                            f"({', '.join(attainment_years)})")
        else:
            missing_fy = [fy for fy in need["financial_years"] if fy not in years["delivery"]]
            if missing_fy:
                problems.append(f"key 'attainment.window_years': a window of {need['window']} years before "
                                f"{need['outcome_year']} counts CPD use in financial years "
                                f"{', '.join(need['financial_years'])}, but years.delivery lacks "
                                f"{', '.join(missing_fy)} (shorten the window or add the booking exports)")
            # years with no published results (cancelled exams, in the measure map) cannot be given: the change
            # across them is not computed (a break), so they are not asked for
            missing_ay = [ay for ay in need["academic_years"] if ay not in attainment_years
                          and ay not in _years_without_results()]
            if missing_ay:
                problems.append(f"key 'attainment.window_years': the change over {need['window']} years to "
                                f"{need['outcome_year']} needs performance tables for "
                                f"{', '.join(need['academic_years'])}, but years.attainment lacks "
                                f"{', '.join(missing_ay)} (shorten the window or add the tables)")


def _years_without_results() -> set[str]:
    """Academic years with no published performance tables (``no_results`` in ``config/measures.yaml``)."""
    from .ingest.performance import load_measure_map

    mm = load_measure_map()
    return {y for ks in ("ks4", "ks2") for y in (mm.get(ks) or {}).get("no_results", {})}


def year_in_path(path: str) -> str | None:
    """The academic year a DfE file's name or folder carries (``2018-2019_england_census.csv``,
    ``dfe-national-2018-19/``), as ``2018-19``; None when there is none or more than one."""
    import re

    found = {f"{a}-{b[-2:]}" for a, b in re.findall(r"(?<!\d)(20\d\d)[-_](20\d\d|\d\d)(?!\d)", str(path))
             if int(b[-2:]) == (int(a) + 1) % 100}
    return found.pop() if len(found) == 1 else None


def config_warnings(cfg: dict) -> list[str]:
    """Settings a run can go on with, but that an analyst should hear about."""
    out = []
    census = (cfg.get("inputs") or {}).get("census")
    reporting = cfg["years"]["reporting"]
    census_year = year_in_path(census) if census else None   # an explicit inputs.census_year is deliberate
    if census and census_year and census_year != reporting and not cfg["inputs"].get("census_year"):
        out.append(f"inputs.census: the census is for {census_year} but the reporting year is {reporting}, so "
                   "pupil numbers and % FSM describe another year's schools (set inputs.census_year to the "
                   "census's year to record that this is deliberate, or use the reporting year's census)")
    regular = (cfg.get("thresholds") or {}).get("regular_use")
    n_delivery = len(cfg["years"]["delivery"])
    if regular and regular["of_last"] > n_delivery:
        out.append(f"thresholds.regular_use: 'regular' looks at the last {regular['of_last']} years but only "
                   f"{n_delivery} delivery year(s) are configured, so it counts use in those only")
    return out


def year_start(label: str) -> int:
    """``"2018-19"`` -> 2018."""
    return int(label[:4])


def year_span(label: str) -> tuple[int, int]:
    """``"2018-19"`` -> (2018, 2019)."""
    start = year_start(label)
    return start, start + 1


@dataclass
class RunConfig:
    """A validated configuration with the derived facts stages need."""

    data: dict
    root: Path = PROJECT_ROOT

    @classmethod
    def load(cls, path: str | Path | None = None, root: str | Path | None = None) -> "RunConfig":
        path = Path(path) if path else DEFAULT_CONFIG
        return cls.from_dict(load_yaml(path), source=str(path), root=root)

    @classmethod
    def from_dict(cls, data: dict, source: str = "configuration", root: str | Path | None = None) -> "RunConfig":
        validate_config(data, source, root)     # fills in the schema's defaults too
        run = cls(data=data, root=Path(root) if root else PROJECT_ROOT)
        run.check_synthetic_folder()
        run.check_previous_years()
        return run

    def check_previous_years(self) -> None:
        """Each earlier year named in ``previous_years`` must be a finished run's derived folder (a config written
        ahead of time is valid; running it before the earlier year is not)."""
        missing = [f for f in self.data.get("previous_years") or []
                   if not ((Path(f) if Path(f).is_absolute() else self.root / f) / "delivery" / "summary.json").exists()]
        if missing:
            raise ConfigError(f"previous_years: {', '.join(missing)} hold(s) no finished run (no delivery/summary.json): "
                              "run that year first, or run the years in order with `cpdeval run-years`")

    # -- identity -----------------------------------------------------------------------------
    @property
    def year(self) -> str:
        return self.data["year"]

    @property
    def is_synthetic(self) -> bool:
        """The config says, with its ``synthetic:`` block, that the pipeline generates this year's inputs (and
        :meth:`check_synthetic_folder` has made sure they all lie in the generator's own folder)."""
        return "synthetic" in self.data

    @property
    def synthetic_dir(self) -> str | None:
        return self.data["synthetic"]["out_dir"] if self.is_synthetic else None

    @staticmethod
    def check_synthetic_out_dir(out_dir: str) -> Path:
        """The generator's folder, which must be a relative path under ``data/raw/synthetic*``."""
        norm = Path(os.path.normpath(out_dir))
        if norm.is_absolute() or len(norm.parts) < 3 or norm.parts[:2] != ("data", "raw") \
                or not norm.parts[2].startswith("synthetic"):
            raise ConfigError(f"key 'synthetic.out_dir': the synthetic year is generated into {out_dir}, but the "
                              "generator may only write under data/raw/synthetic* (for example data/raw/synthetic)")
        return norm

    def check_synthetic_folder(self) -> None:
        """A synthetic year generates its inputs, so Snakemake may replace them: every one must lie inside the
        generator's folder, itself under ``data/raw/synthetic*``. A copy of the synthetic config pointed at real
        exports stops here, before any job can overwrite or delete them."""
        if not self.is_synthetic:
            return
        out_dir = self.check_synthetic_out_dir(self.synthetic_dir)
        outside = [f"{key} ({path})" for key, path in self.configured_inputs()
                   if not Path(os.path.normpath(path)).is_relative_to(out_dir)]
        if outside:
            raise ConfigError(
                f"this config has a 'synthetic:' block, so the pipeline generates its inputs into {out_dir} and may "
                f"replace any of them; but {len(outside)} input(s) point elsewhere: " + "; ".join(outside[:5])
                + (f" and {len(outside) - 5} more" if len(outside) > 5 else "") + ". For real exports remove the 'synthetic:' block "
                "(start from config/2018-19.yaml); for a synthetic year keep every input inside " + str(out_dir))

    @property
    def derived_dir(self) -> Path:
        return Path("data/derived") / self.year

    @property
    def reports_dir(self) -> Path:
        return Path("reports") / self.year

    # -- inputs -------------------------------------------------------------------------------
    def path(self, p: str) -> Path:
        """A configured path as the workflow uses it: relative to the project root unless absolute."""
        return Path(p)

    @cached_property
    def booking_file_years(self) -> dict[str, str | None]:
        """Booking exports -> the financial year each is for (from a ``{fy}`` template; None for a glob or a
        plain path). A glob that matches nothing stops with the key named."""
        spec = self.data["inputs"]["bookings"]
        specs = spec if isinstance(spec, list) else [spec]
        files: dict[str, str | None] = {}
        for i, s in enumerate(specs):
            key = "inputs.bookings" + (f"[{i}]" if isinstance(spec, list) else "")
            if "{fy}" in s:
                files.update((s.format(fy=fy), fy) for fy in self.data["years"]["delivery"])
            elif any(ch in s for ch in "*?["):
                found = sorted(glob.glob(str(self.root / s)))
                if not found:
                    raise ConfigError(f"key '{key}': the pattern '{s}' matches no file (looked in {self.root}); "
                                      "check the folder, or name each export, or use {fy} for one file per "
                                      "financial year")
                files.update((os.path.relpath(f, self.root) if not Path(s).is_absolute() else f, None)
                             for f in found)
            else:
                files[s] = None
        return files

    @property
    def booking_files(self) -> list[str]:
        """Booking exports: a ``{fy}`` template expanded over the delivery years, a glob, or a list."""
        return list(self.booking_file_years)

    def performance_file(self, key_stage: str, academic_year: str) -> str | None:
        templates = self.data["inputs"].get("performance") or {}
        template = templates.get(key_stage)
        if not template:
            return None
        start, end = year_span(academic_year)
        return template.format(start=start, end=end)

    def performance_files(self, key_stage: str) -> dict[str, str]:
        out = {}
        for ay in self.data["years"].get("attainment") or []:
            f = self.performance_file(key_stage, ay)
            if f:
                out[ay] = f
        return out

    @property
    def survey_files(self) -> dict[str, str]:
        return dict(self.data["inputs"].get("surveys") or {})

    def optional_input(self, key: str) -> str | None:
        return self.data["inputs"].get(key)

    def absent_inputs(self) -> list[dict[str, str]]:
        """The optional inputs this year does not have, each with the words a reader is told (sections that rest
        on one are left out of the report, and the methods appendix says so once)."""
        inputs = self.data["inputs"]
        # (a missing priority-school list is no gap: the booking export's flag is the usual source)
        out = [{"input": key, "what": ABSENT_WORDS[key]} for key in (*REFERENCE_TABLES, "feedback_coded", "census")
               if not inputs.get(key) and key in ABSENT_WORDS]
        instruments = survey_instruments()
        out += [{"input": f"surveys.{name}", "what": f"responses to the {name.replace('_', '-')} survey"}
                for name in instruments if name not in self.survey_files]
        return out

    def configured_inputs(self) -> list[tuple[str, str]]:
        """(config key, file) of every raw file this configuration reads, templates expanded."""
        inputs = self.data["inputs"]
        out = [("inputs.bookings" + (f" ({fy})" if fy else ""), f) for f, fy in self.booking_file_years.items()]
        out += [("inputs.register", inputs["register"]), ("inputs.links", inputs["links"])]
        out += [(f"inputs.{key}", inputs[key]) for key in ("census", "feedback_coded", *REFERENCE_TABLES)
                if inputs.get(key)]
        for ks in ("ks4", "ks2"):
            out += [(f"inputs.performance.{ks} ({ay})", f) for ay, f in self.performance_files(ks).items()]
        out += [(f"inputs.surveys.{name}", f) for name, f in self.survey_files.items()]
        out += [(f"inputs.targeted.{key}", f) for key, f in (inputs.get("targeted") or {}).items() if f]
        return out

    def configured_input_files(self) -> list[str]:
        """Every raw file this configuration reads (what a synthetic run must generate)."""
        return [f for _, f in self.configured_inputs()]

    def check_inputs_distinct(self) -> None:
        """The same export listed twice (one path under two keys, or two paths with identical contents) would
        have its rows counted twice or quarantined as duplicates of themselves: stop and name both keys.
        Only files of equal size are hashed, so this costs nothing on a normal year."""
        import hashlib

        by_path: dict[str, str] = {}
        by_size: dict[int, list[tuple[str, str]]] = {}
        problems = []
        for key, f in self.configured_inputs():
            p = Path(f) if Path(f).is_absolute() else self.root / f
            norm = os.path.normcase(os.path.realpath(p))
            if norm in by_path:
                problems.append(f"{by_path[norm]} and {key} both name {f}")
                continue
            by_path[norm] = key
            if p.is_file():
                by_size.setdefault(p.stat().st_size, []).append((key, str(p)))
        for same_size in by_size.values():
            seen: dict[str, str] = {}
            for key, p in same_size if len(same_size) > 1 else []:
                digest = hashlib.sha256(Path(p).read_bytes()).hexdigest()
                if digest in seen:
                    problems.append(f"{seen[digest]} and {key} are the same file content ({p})")
                seen.setdefault(digest, key)
        if problems:
            raise ConfigError("an input is listed twice: " + "; ".join(problems)
                              + ". Give each export once (two copies of one export would be counted twice)")

    # -- thresholds ---------------------------------------------------------------------------
    @property
    def disclosure_min_count(self) -> int:
        return int(self.data["thresholds"]["disclosure_min_count"])

    @property
    def chapters(self) -> list[str]:
        return list(self.data["render"].get("chapters") or ["methods"])

    @property
    def formats(self) -> list[str]:
        return list(self.data["render"].get("formats") or ["html"])

    @property
    def warnings(self) -> list[str]:
        return config_warnings(self.data)

    def hash_key(self) -> bytes:
        """The key for pseudonymising participant ids (see :func:`cpdeval.pseudonymise.resolve_key`)."""
        return self.key_info().key

    def key_info(self):
        """The key with where it came from and its fingerprint (see :func:`cpdeval.pseudonymise.resolve_key`)."""
        from .pseudonymise import key_info

        return key_info(self.data.get("pseudonymisation"), synthetic=self.is_synthetic, root=self.root)
