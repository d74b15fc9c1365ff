"""artifacts.version_as_of on hand-made fitted versions: the version current on a day, whatever is current now."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from pipelines.core.errors import ConfigError, DataError
from pipelines.features import artifacts


@pytest.fixture
def settings(tmp_path):
    return SimpleNamespace(project=SimpleNamespace(path=lambda *parts: str(tmp_path.joinpath(*parts))))


def _fitted(settings, version: str, metadata: dict, published: bool = True) -> None:
    vdir = artifacts.version_dir(settings, "p", version)
    artifacts.write_json(f"{vdir}/metadata.json", {"pipeline": "p", "version": version, **metadata})
    if published:
        artifacts.write_json(f"{vdir}/train_stats.json", [])


def test_the_version_fitted_for_the_greatest_day_on_or_before(settings):
    _fitted(settings, "a", {"ds": "2026-11-01", "created": "2026-11-01T05:00:00+00:00"})
    _fitted(settings, "b", {"ds": "2026-11-05", "created": "2026-11-05T05:00:00+00:00"})
    # a refit of 2026-11-01 made later (a backfill): the later fit of the day wins that day
    _fitted(settings, "c", {"ds": "2026-11-01", "created": "2026-11-20T05:00:00+00:00"})
    # fitted before `ds` was recorded: its training window ends on the day it was fitted for
    _fitted(settings, "d", {"window": ["2026-11-07", "2026-11-08"], "created": "2026-11-08T05:00:00+00:00"})
    # a fit that died before its statistics: never published, never chosen
    _fitted(settings, "e", {"ds": "2026-11-03", "created": "2026-11-03T05:00:00+00:00"}, published=False)
    got = {d: artifacts.version_as_of(settings, "p", d) for d in ("2026-11-01", "2026-11-04", "2026-11-05")}
    assert got == {"2026-11-01": "c", "2026-11-04": "c", "2026-11-05": "b"}
    assert artifacts.version_as_of(settings, "p", dt.date(2026, 11, 30)) == "d"
    assert artifacts.newest_version(settings, "p") == "d"


def test_a_day_before_every_fit_is_an_error_naming_the_versions_and_their_days(settings):
    with pytest.raises(DataError, match=r"pipeline 'p' has no fitted version under .*/features/p: run `features"):
        artifacts.version_as_of(settings, "p", "2026-11-01")
    _fitted(settings, "a", {"ds": "2026-11-03", "created": "x"})
    _fitted(settings, "b", {"created": "y"})  # no day at all: listed, never chosen
    with pytest.raises(DataError) as e:
        artifacts.version_as_of(settings, "p", dt.date(2026, 11, 2))
    assert str(e.value) == (
        "pipeline 'p' has no version fitted on or before 2026-11-02 (versions: a (fitted for 2026-11-03), "
        "b (fitted for an unknown day)): run `features --pipeline p --fit` for a day up to 2026-11-02"
    )
    with pytest.raises(ConfigError, match="ds '2026-13-01' is not a day"):
        artifacts.version_as_of(settings, "p", "2026-13-01")
