"""The features job end to end on tiny synthetic stg data: fit, transform a later day, feature map,
stats and drift, debug mode, idempotent reruns and the errors a user meets."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml
from pyspark.sql import functions as F

from jobs import features as features_job
from jobs.harness import parse_config, run_job
from pipelines.common import tables
from pipelines.core.errors import DataError
from pipelines.features import artifacts
from pipelines.features.feature_map import FeatureMap
from pipelines.features.flow import drift
from pipelines.features.stats import read_day_stats
from pipelines.synth.generator import generate, make_profile

ROOT = Path(__file__).resolve().parents[2]
D1, D2, D3 = dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 10, 3)
SOURCE = "click_logs_feat_it"
TINY = {
    "source": SOURCE,
    "label": "label",
    "train_days": 2,
    "stages": [
        {"name": "num", "type": "impute", "params": {"inputs": ["i1"], "indicator": True}},
        {"name": "cat", "type": "index", "params": {"inputs": ["c1"]}},
    ],
}


@pytest.fixture(scope="module")
def conf_dir(tmp_path_factory):
    """A copy of conf/ whose pipelines read this module's own stg table."""
    root = tmp_path_factory.mktemp("conf") / "conf"
    shutil.copytree(ROOT / "conf", root)
    default = yaml.safe_load((root / "base/features/ctr_default.yml").read_text())
    (root / "base/features/ctr_default.yml").write_text(yaml.safe_dump({**default, "source": SOURCE}))
    (root / "base/features/tiny.yml").write_text(yaml.safe_dump(TINY))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CTRFLOW_CONF", str(root))
        yield root


@pytest.fixture(scope="module")
def stg(spark, settings, conf_dir):
    """stg-shaped synthetic days D1, D2; D3 is D2 with i1 scaled up and c1 mostly missing (drift)."""
    name = tables.table(settings, "stg", SOURCE)
    profile = make_profile(settings.synth)
    for day in (D1, D2):
        df = generate(spark, settings.synth, day, profile)
        tables.write_delta_partition(df.toDF(*[c.lower() for c in df.columns]), name, day)
    d2 = spark.table(name).where(f"ds = '{D2}'").drop("ds")
    shifted = d2.withColumn("i1", F.col("i1") * 1000 + 7).withColumn(
        "c1", F.when(F.rand(1) < 0.8, F.lit(None)).otherwise(F.col("c1"))
    )
    tables.write_delta_partition(shifted, name, D3)
    return name


def _run(spark, overrides, *args):
    cfg, _ = parse_config(features_job, "features", [*args, *[a for o in overrides for a in ("--set", o)]])
    return features_job.run(spark, cfg)


def test_fit_then_transform_a_later_day(spark, settings, overrides, stg):
    fit = _run(spark, overrides, "--pipeline", "ctr_default", "--ds", str(D1), "--fit")
    assert fit["rows"] == settings.synth.rows_per_day and fit["fitted"]
    base = artifacts.pipeline_dir(settings, "ctr_default")
    fm = FeatureMap.from_json(Path(base, "feature_map.json").read_text())
    assert fm.version == fit["model_version"] and fm.label == "label"
    meta = json.loads(Path(base, fm.version, "metadata.json").read_text())
    assert meta["input_table"] == stg and meta["window"] == [str(D1)] and meta["input_delta_version"] >= 2

    later = _run(spark, overrides, "--pipeline", "ctr_default", "--ds", str(D2))
    assert later["model_version"] == fit["model_version"] and not later["fitted"]
    feat = spark.table(fit["table"]).where(f"ds = '{D2}'")
    assert feat.columns == ["label", *[f.name for f in fm.fields], "ds"]
    assert feat.count() == settings.synth.rows_per_day
    # every categorical value of the later day (unseen ones included) is a valid local index, never null
    cats = [f for f in fm.fields if f.kind == "categorical"]
    agg = feat.agg(
        *[F.max(f.name).alias(f.name) for f in cats],
        *[F.sum(F.col(f.name).isNull().cast("int")).alias(f"n_{f.name}") for f in fm.fields],
    ).first()
    assert all(0 <= agg[f.name] < f.vocab_size for f in cats)
    assert all(agg[f"n_{f.name}"] == 0 for f in fm.fields)
    assert feat.where("c24_idx = 1").count() > 0  # values unseen on D1 or below min_count: unknown
    # offsets: one shared embedding table, fields back to back
    offsets = [(f.offset, f.vocab_size) for f in fm.fields if f.offset is not None]
    assert offsets[0][0] == 0 and all(a + n == b for (a, n), (b, _) in zip(offsets, offsets[1:], strict=False))
    assert fm.total_vocab_size == offsets[-1][0] + offsets[-1][1]
    # the later day did not move against the training day
    assert later["moved_features"] == []
    assert all(d.psi < 0.2 for d in drift(spark, settings, "ctr_default", D2))


def test_drift_and_idempotent_reruns(spark, settings, overrides, stg):
    fit = _run(spark, overrides, "--pipeline", "tiny", "--ds", str(D2), "--fit")
    assert json.loads(Path(artifacts.version_dir(settings, "tiny", fit["model_version"]), "metadata.json").read_text())[
        "window"
    ] == [str(D1), str(D2)]
    assert spark.table("feat.tiny").columns == ["label", "i1_imp", "i1_imp_missing", "c1_idx", "ds"]
    first = _run(spark, overrides, "--pipeline", "tiny", "--ds", str(D3))
    again = _run(spark, overrides, "--pipeline", "tiny", "--ds", str(D3))
    assert again["feat_version"] == first["feat_version"] + 1
    assert spark.table("feat.tiny").where(f"ds = '{D3}'").count() == settings.synth.rows_per_day
    # D3 has i1 scaled up and c1 mostly missing: both moved
    assert {d["feature"] for d in again["moved_features"]} == {"i1_imp", "c1_idx"}  # not the indicator: as many missing
    assert spark.table(again["stats_table"]).where(f"ds = '{D3}'").count() == 3
    assert [d.feature for d in drift(spark, settings, "tiny", D3) if d.moved] == [
        d["feature"] for d in again["moved_features"]
    ]


def test_debug_mode_prints_each_stage_and_writes_nothing(spark, overrides, stg, capsys):
    out = _run(spark, overrides, "--pipeline", "ctr_default", "--ds", str(D2), "--limit", "300")
    printed = capsys.readouterr().out
    assert out["debug"] and len(out["stages"]) == 9
    assert "== stage 1/9 'log_ints' (log)" in printed and "i1_log: double (numeric)" in printed
    assert "share_index1=" in printed
    by_stage = {s["stage"]: s for s in out["stages"]}
    assert by_stage["bucket_ints"]["columns"]["i1_bkt"]["null_rate"] == 0.0


def test_user_errors_exit_non_zero_with_one_line(spark, settings, overrides, stg, conf_dir, capsys):
    sets = [a for o in overrides for a in ("--set", o)]
    assert run_job("features", ["--pipeline", "nope", "--ds", str(D1), *sets], spark=spark) == 2
    assert "no features named 'nope'" in capsys.readouterr().err
    # a training window with a missing day
    code = run_job("features", ["--pipeline", "tiny", "--ds", "2026-09-01", "--fit", *sets], spark=spark)
    assert code == 1 and "has no rows for ds 2026-08-31, 2026-09-01" in capsys.readouterr().err
    # the pipeline file changed since the current version was fitted
    (conf_dir / "base/features/tiny.yml").write_text(yaml.safe_dump({**TINY, "train_days": 1}))
    try:
        assert run_job("features", ["--pipeline", "tiny", "--ds", str(D2), *sets], spark=spark) == 2
        assert "changed since version" in capsys.readouterr().err
    finally:
        (conf_dir / "base/features/tiny.yml").write_text(yaml.safe_dump(TINY))
    assert run_job("features", ["--pipeline", "tiny", "--ds", str(D1), "--sample", "2", *sets], spark=spark) == 2


def test_a_backfill_transforms_with_the_version_current_on_its_day(spark, settings, overrides, stg, conf_dir):
    (conf_dir / "base/features/backfill.yml").write_text(yaml.safe_dump(TINY))
    old = _run(spark, overrides, "--pipeline", "backfill", "--ds", str(D2), "--fit")
    new = _run(spark, overrides, "--pipeline", "backfill", "--ds", str(D3), "--fit")
    assert old["model_version"] != new["model_version"] == artifacts.current_version(settings, "backfill")
    meta = json.loads(
        Path(artifacts.version_dir(settings, "backfill", new["model_version"]), "metadata.json").read_text()
    )
    assert meta["ds"] == str(D3)
    # D2 again, next month: the version fitted for D2, not the current one; its stats say so
    again = _run(spark, overrides, "--pipeline", "backfill", "--ds", str(D2))
    assert again["model_version"] == old["model_version"] and not again["fitted"]
    assert again["feature_map"] == artifacts.feature_map_path(settings, "backfill", old["model_version"])
    assert read_day_stats(spark, again["stats_table"], D2)[0] == old["model_version"]
    assert _run(spark, overrides, "--pipeline", "backfill", "--ds", str(D3))["model_version"] == new["model_version"]
    # a day before every fit: no version of a later day is used for it
    with pytest.raises(DataError, match=f"pipeline 'backfill' has no version fitted on or before {D1}"):
        _run(spark, overrides, "--pipeline", "backfill", "--ds", str(D1))
    # refitting D2 (a backfill with --fit) makes the refit D2's version, and leaves D3's current
    refit = _run(spark, overrides, "--pipeline", "backfill", "--ds", str(D2), "--fit")
    assert artifacts.version_as_of(settings, "backfill", D2) == refit["model_version"]
    assert artifacts.current_version(settings, "backfill") == new["model_version"]
    fm = FeatureMap.from_json(Path(artifacts.pipeline_dir(settings, "backfill"), "feature_map.json").read_text())
    assert fm.version == new["model_version"]
