"""Source declarations are validated strictly before any data is read."""

from __future__ import annotations

import pytest

from pipelines.common import config
from pipelines.core.errors import ConfigError
from pipelines.settings.sources import normalise


def test_declared_sources_validate():
    s = config.load().settings.sources
    assert {"click_logs", "criteo_tsv", "click_logs_parquet"} <= set(s.sources)
    cols = s.contracts["criteo"].columns
    assert [c.out_name for c in cols][:3] == ["label", "i1", "i2"] and len(cols) == 40


def test_hive_sources_follow_the_raw_database():
    """The shipped sources name generate's tables without a database: a renamed raw database moves them;
    a qualified table stays where it says."""
    from pipelines.common import table_names
    from pipelines.ingest.sources import hive_table

    s = config.load(overrides=["project.databases.raw=ctr_raw"]).settings
    assert hive_table(s, s.sources.sources["click_logs"]) == "ctr_raw.click_logs"
    assert hive_table(s, s.sources.sources["click_logs"]) == table_names.raw(s, s.synth.table_name)
    assert hive_table(s, s.sources.sources["avazu_logs"]) == "ctr_raw.avazu_logs"
    s = config.load(overrides=["sources.sources.click_logs.table=prod.impressions"]).settings
    assert hive_table(s, s.sources.sources["click_logs"]) == "prod.impressions"


def test_normalised_names():
    assert normalise("Click Time") == "click_time" and normalise("I1") == "i1" and normalise("user-ID") == "user_id"


@pytest.mark.parametrize(
    "override, message",
    [
        ("sources.sources.click_logs.kind=csv", "sources.sources.click_logs.kind: must be one of"),
        ("sources.sources.click_logs.contract=nope", "source click_logs: contract 'nope' is not defined"),
        ("sources.sources.click_logs.max_bad_fraction=2", "max_bad_fraction must be in [0, 1]"),
        ("sources.sources.criteo_tsv.path=null", "a text source needs `path`"),
        (
            "sources.sources.criteo_tsv.delimitr=;",
            "sources.sources.criteo_tsv.delimitr: unknown key (did you mean 'delimiter'?)",
        ),
        ("sources.contracts.criteo.columns=[{name: a, type: int, pattern: x}]", "pattern applies to string columns"),
        ("sources.contracts.criteo.columns=[{name: A, type: int}, {name: a, type: int}]", "same stg name: a"),
    ],
)
def test_bad_declarations_name_the_key(override, message):
    with pytest.raises(ConfigError) as e:
        config.load(overrides=[override])
    assert message in str(e.value)
