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
