"""Path templates with day placeholders and globs, partition value patterns, and the declarations that use
them: pure functions, no Spark."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.common import config
from pipelines.core.errors import ConfigError
from pipelines.core.layout import DayMatcher, PartitionFormat, check_template, glob_all_days, has_glob, render

DAY = dt.date(2026, 11, 1)


@pytest.mark.parametrize(
    "template, rendered, every_day",
    [
        ("landing/avazu/hour={yymmdd}*", "landing/avazu/hour=261101*", "landing/avazu/hour=??????*"),
        ("logs/dt={ds}/hr=*", "logs/dt=2026-11-01/hr=*", "logs/dt=????-??-??/hr=*"),
        ("logs/{ds_nodash}??.csv", "logs/20261101??.csv", "logs/??????????.csv"),
        ("logs/{yyyy}/{mm}/{dd}/h=?", "logs/2026/11/01/h=?", "logs/????/??/??/h=?"),
    ],
)
def test_render_and_glob_of_every_day(template, rendered, every_day):
    check_template(template)
    assert render(template, DAY) == rendered
    assert glob_all_days(template) == every_day
    assert has_glob(rendered) == ("*" in template or "?" in template)


@pytest.mark.parametrize(
    "template, path, day",
    [
        ("/s/avazu/hour={yymmdd}*", "file:/s/avazu/hour=26110105", DAY),
        ("/s/avazu/hour={yymmdd}*", "hdfs://nn:8020/other/root/avazu/hour=26103123", dt.date(2026, 10, 31)),
        ("/s/avazu/hour={yymmdd}*", "file:/s/avazu/hour=26133105", None),  # month 13
        ("/s/logs/dt={ds}/hr=*", "file:/s/logs/dt=2026-11-01/hr=05", DAY),
        ("/s/logs/dt={ds}/hr=*", "file:/s/logs/dt=2026-11-01/x=05", None),  # not the template's shape
        ("/s/{yyyy}/{mm}/{dd}/part-*", "file:/s/2026/11/01/part-0", DAY),
        ("/s/d={ds}/f_{ds_nodash}.csv", "file:/s/d=2026-11-01/f_20261102.csv", None),  # the two days disagree
        ("/s/d={ds}/f_{ds_nodash}.csv", "file:/s/d=2026-11-01/f_20261101.csv", DAY),
    ],
)
def test_the_day_of_a_matched_path(template, path, day):
    assert DayMatcher.of(template).day_of(path) == day


@pytest.mark.parametrize(
    "template, message",
    [
        ("logs/{date}/x", "unknown placeholder {date}"),
        ("logs/{a,b}/{ds}", "unknown placeholder {a,b}"),
        ("logs/{yyyy}/{dd}", "{yyyy}, {mm} and {dd} must appear together"),
    ],
)
def test_bad_templates(template, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        check_template(template)


@pytest.mark.parametrize(
    "pattern, value, day",
    [
        ("yyyy-MM-dd", "2026-11-01", DAY),
        ("yyyy-MM-dd", "2026-11-1", None),  # fixed width: read strictly
        ("yyyy-MM-dd", "__HIVE_DEFAULT_PARTITION__", None),
        ("yyMMddHH", "26110123", DAY),  # Avazu's hour column
        ("yyMMddHH", "26110124", None),
        ("yyyyMMddHH", "2026110100", DAY),
        ("yyyy-MM-dd'T'HH", "2026-11-01T07", DAY),
        ("yyyy-MM-dd HH:mm", "2026-11-01 07:30", DAY),
    ],
)
def test_partition_values_belong_to_a_day(pattern, value, day):
    fmt = PartitionFormat(pattern)
    fmt.validate()
    assert fmt.day_of(value) == day


def test_daily_patterns_format_a_day_and_hourly_ones_count_hours():
    assert PartitionFormat("yyyyMMdd").daily and PartitionFormat("yyyyMMdd").format(DAY) == "20261101"
    assert PartitionFormat("yyyy-MM-dd").format(DAY) == "2026-11-01"
    hourly = PartitionFormat("yyMMddHH")
    assert not hourly.daily and hourly.hour_of("26110105") == 5 and hourly.hour_of("x") is None


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("yyyy-MM", "needs a year (yyyy or yy), MM and dd"),
        ("EEE yyyy-MM-dd", "pattern letter 'E' is not supported"),
        ("yyyy-MM-dd-dd", "a field appears twice"),
    ],
)
def test_bad_partition_formats(pattern, message):
    with pytest.raises(ValueError) as e:
        PartitionFormat(pattern).validate()
    assert message in str(e.value)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["sources.sources.criteo_tsv.format=xml"], "sources.sources.criteo_tsv.format: must be one of"),
        (["sources.sources.click_logs.format=csv"], "format applies to text sources only (this one is hive)"),
        (["sources.sources.click_logs.partition_format=yyyyMM"], "partition_format 'yyyyMM': needs a year"),
        (["sources.sources.criteo_tsv.path=landing/{day}/x"], "unknown placeholder {day}"),
        (["sources.sources.click_logs.date_format=yyMMddHH"], "date_format needs date_column"),
        (
            [
                "sources.sources.criteo_tsv.format=libsvm",
                "sources.contracts.criteo.columns=[{name: label, type: int}, {name: when, type: date}]",
            ],
            "libsvm feature columns take an index (int, bigint, string) or a value (double, float); not when (date)",
        ),
    ],
)
def test_bad_format_declarations_name_the_key(overrides, message):
    with pytest.raises(ConfigError) as e:
        config.load(overrides=overrides)
    assert message in str(e.value)


def test_new_keys_default_to_todays_behaviour():
    spec = config.load().settings.sources.sources["criteo_tsv"]
    assert (spec.format, spec.partition_format, spec.date_format) == ("delimited", "yyyy-MM-dd", None)
