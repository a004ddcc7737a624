"""The run configuration: validated against schemas/config.schema.yaml with messages naming the key."""

import copy

import pytest

from cpdeval.config import RunConfig, load_yaml, validate_config
from cpdeval.errors import ConfigError

from conftest import ROOT, TEST_KEY


@pytest.fixture
def cfg():
    return load_yaml(ROOT / "config" / "config.yaml")


def test_shipped_configs_are_valid():
    for name in ("config.yaml", "2015-16.yaml"):
        validate_config(load_yaml(ROOT / "config" / name), name)


def test_unknown_key_is_named(cfg):
    bad = copy.deepcopy(cfg)
    bad["thresholds"]["disclosure_min_cuont"] = 5
    with pytest.raises(ConfigError, match=r"unknown key 'thresholds.disclosure_min_cuont'"):
        validate_config(bad)


def test_wrong_type_is_named(cfg):
    bad = copy.deepcopy(cfg)
    bad["thresholds"]["disclosure_min_count"] = "five"
    with pytest.raises(ConfigError, match=r"thresholds.disclosure_min_count"):
        validate_config(bad)


def test_bad_year_label_is_named(cfg):
    bad = copy.deepcopy(cfg)
    bad["years"]["delivery"] = ["2018-20"]
    bad["years"]["reporting"] = "2018-20"
    with pytest.raises(ConfigError, match=r"years.delivery.*2018-20"):
        validate_config(bad)


def test_reporting_year_must_be_a_delivery_year(cfg):
    bad = copy.deepcopy(cfg)
    bad["years"]["reporting"] = "2030-31"
    with pytest.raises(ConfigError, match="years.reporting"):
        validate_config(bad)


def test_derived_facts(cfg):
    run = RunConfig.from_dict(cfg)
    assert run.booking_files[0] == "data/raw/synthetic/bookings/booking_export_FY2014-15.csv"
    assert len(run.booking_files) == 5
    assert run.performance_file("ks4", "2016-17") == "data/raw/synthetic/performance/2016-2017_england_ks4final.csv"
    files = run.configured_input_files()
    assert len(files) == len(set(files))
    assert run.is_synthetic and run.disclosure_min_count == 5


def test_real_year_needs_a_key(cfg, monkeypatch):
    real = copy.deepcopy(cfg)
    del real["synthetic"]
    monkeypatch.delenv("CPDEVAL_HASH_KEY", raising=False)
    run = RunConfig.from_dict(real)
    with pytest.raises(ConfigError, match="CPDEVAL_HASH_KEY"):
        run.hash_key()
    monkeypatch.setenv("CPDEVAL_HASH_KEY", TEST_KEY)
    assert run.hash_key() == TEST_KEY.encode()


# --------------------------------------------------------------------------- one source for every default

def _schema_keys_with_defaults():
    """Leaf keys of the config schema that have a default, or are required numbers (no fallback is right for
    those either): dotted path -> leaf name."""
    import yaml

    schema = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())
    out = {}

    def walk(node, path):
        required = set(node.get("required") or [])
        for key, spec in (node.get("properties") or {}).items():
            dotted = ".".join(path + [key])
            default = spec.get("default")
            if default not in (None, {}, []) or (key in required and spec.get("type") in ("integer", "number")):
                out[dotted] = key
            if spec.get("type") == "object":
                walk(spec, path + [key])

    walk(schema, [])
    return out


def test_no_default_is_restated_outside_the_config_schema():
    import re

    keys = _schema_keys_with_defaults()
    assert {"thresholds.disclosure_min_count", "years.financial_year_start_month", "thresholds.regular_use",
            "targeted.min_days_after_start", "targeted.unit_bands", "attainment.window_years",
            "attainment.min_schools"} <= set(keys)
    literal = r"(?:-?\d|\[|\{|\"|')"
    # the estimators are a general statistical library: their keyword defaults are their own API (the chapter
    # passes the configured values), so they are not read as restating the config's
    files = ([f for f in (ROOT / "src").rglob("*.py") if "estimators" not in f.parts],
             [*(ROOT / "rules").glob("*.smk"), ROOT / "Snakefile"], list((ROOT / "reports").glob("*.qmd")))
    found = []
    for dotted, key in sorted(keys.items()):
        lookup = re.compile(rf"(?:get|job_value)\([^()]*[\"']{key}[\"']\s*,\s*{literal}")   # .get("key", 5)
        annotated = re.compile(rf"\b{key}\s*:\s*[\w\[\], |.]+=\s*{literal}")            # key: int = 5
        assigned = re.compile(rf"^{key}\s*=\s*{literal}")                 # a chapter's parameters cell
        for group, patterns in zip(files, ([lookup, annotated], [lookup], [lookup, assigned])):
            for f in group:
                for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                    if any(p.search(line) for p in patterns):
                        found.append(f"{f.relative_to(ROOT)}:{n}: {dotted}: {line.strip()}")
    assert not found, "defaults restated outside schemas/config.schema.yaml:\n" + "\n".join(found)


def test_a_loaded_config_is_complete_and_a_missing_required_value_is_named(tmp_path):
    from cpdeval.config import RunConfig, section_defaults

    data = load_yaml(ROOT / "config" / "config.yaml")
    data.pop("targeted", None)
    data["attainment"].pop("window_years")
    run = RunConfig.from_dict(data, "test config", root=ROOT)
    assert run.data["targeted"] == section_defaults("targeted") == {"min_days_after_start": 365,
                                                                    "unit_bands": [10, 20]}
    assert run.data["attainment"]["window_years"] == 3
    bad = load_yaml(ROOT / "config" / "config.yaml")
    del bad["thresholds"]["disclosure_min_count"]
    with pytest.raises(ConfigError, match="thresholds.*disclosure_min_count"):
        validate_config(bad)
