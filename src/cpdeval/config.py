"""Loading and checking the run configuration.

The configuration is a YAML file (``config/config.yaml`` for the synthetic year, ``config/<year>.yaml``
for a real one). :func:`validate_config` checks it against ``schemas/config.schema.yaml`` and stops with a
message naming the offending key. :class:`RunConfig` answers the questions every stage asks (which files,
which years, where outputs go) so that no rule or module re-derives them.
"""

from __future__ import annotations

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
REFERENCE_TABLES = ("partnerships", "targets", "trained_leaders", "strategic_judgements", "resource_registrations")


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
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


def validate_config(cfg: dict, source: str = "configuration") -> dict:
    """Check ``cfg`` against the config schema; raise :class:`ConfigError` naming every bad key."""
    import jsonschema

    schema = load_yaml(SCHEMAS_DIR / "config.schema.yaml")
    validator = jsonschema.Draft202012Validator(schema)
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
    if problems:
        raise ConfigError(f"{source} is not valid:\n  - " + "\n  - ".join(problems))
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
        validate_config(data, source)
        return cls(data=data, root=Path(root) if root else PROJECT_ROOT)

    # -- identity -----------------------------------------------------------------------------
    @property
    def year(self) -> str:
        return self.data["year"]

    @property
    def is_synthetic(self) -> bool:
        return "synthetic" in self.data

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
    def booking_files(self) -> list[str]:
        """Booking exports: a ``{fy}`` template expanded over the delivery years, a glob, or a list."""
        spec = self.data["inputs"]["bookings"]
        specs = spec if isinstance(spec, list) else [spec]
        files: list[str] = []
        for s in specs:
            if "{fy}" in s:
                files.extend(s.format(fy=fy) for fy in self.data["years"]["delivery"])
            elif any(ch in s for ch in "*?["):
                found = sorted(glob.glob(str(self.root / s)))
                files.extend(os.path.relpath(f, self.root) if not Path(s).is_absolute() else f for f in found)
            else:
                files.append(s)
        return files

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

    def configured_input_files(self) -> list[str]:
        """Every raw file this configuration reads (what a synthetic run must generate)."""
        files = list(self.booking_files)
        inputs = self.data["inputs"]
        files += [inputs["register"], inputs["links"]]
        for key in ("census", "feedback_coded", *REFERENCE_TABLES):
            if inputs.get(key):
                files.append(inputs[key])
        for ks in ("ks4", "ks2"):
            files += list(self.performance_files(ks).values())
        files += list(self.survey_files.values())
        files += [f for f in (inputs.get("targeted") or {}).values() if f]
        return files

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

    def hash_key(self) -> bytes:
        """The key for pseudonymising participant ids (see :func:`cpdeval.pseudonymise.resolve_key`)."""
        from .pseudonymise import resolve_key

        return resolve_key(self.data.get("pseudonymisation"), synthetic=self.is_synthetic)
