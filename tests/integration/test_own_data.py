"""One's own data without reading code: an Avazu-shaped source (label `click`, a string `id`) declared by
config, a feature pipeline run on it with --source and --set features.*, `keep: [id]` carried into feat,
then a deep LR (train_ctr, test variant, local backend) trained on it and `score` writing click and id into
out.scores beside another model's `label`."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml
from pyspark.sql import functions as F

from jobs.harness import run_job
from pipelines.common import tables
from pipelines.common.tables import align_to_table
from pipelines.core.errors import DataError
from pipelines.features import artifacts
from pipelines.features.feature_map import FeatureMap
from pipelines.registry.store import Registry

ROOT = Path(__file__).resolve().parents[2]
D1, D2 = dt.date(2026, 5, 1), dt.date(2026, 5, 2)
SRC, SRC_B = "avazu_it", "avazu_it_b"  # two declared sources of one schema
PIPE, SRC_PIPE = "avazu_it", "avazu_src_it"
AVAZU = {
    "source": SRC,
    "label": "click",
    "keep": ["id"],
    "train_days": 1,
    "stages": [
        {"name": "cats", "type": "index", "params": {"inputs": ["site_id", "app_id", "hour"]}},
    ],
}
SOURCE_ONLY = {
    "source": SRC,
    "label": "click",
    "stages": [
        {"name": "cats", "type": "index", "params": {"inputs": ["site_id", "app_id"], "min_count": 1}},
    ],
}
# declared by config only (sources.yml is not edited): what the features job's --source checks
DECLARE = [
    f"sources.contracts.{SRC}={{columns: [{{name: id, type: string}}, {{name: click, type: int}}]}}",
    *[f"sources.sources.{s}={{kind: parquet, path: landing/{s}, contract: {SRC}}}" for s in (SRC, SRC_B)],
]


def _stg_day(spark, day: dt.date, seed: int, rows: int = 4000):
    """Avazu-shaped rows: a unique string id (Avazu's overflow bigint), click planted on site_id."""
    site = F.pmod(F.hash(F.col("n"), F.lit(seed)), F.lit(20))
    return (
        spark.range(rows)
        .withColumnRenamed("id", "n")
        .select(
            F.concat(F.lit(f"{day:%Y%m%d}-{seed}-"), F.col("n").cast("string")).alias("id"),
            (F.rand(seed) < F.when(site < 5, 0.6).otherwise(0.1)).cast("int").alias("click"),
            F.pmod(F.col("n"), F.lit(24)).cast("int").alias("hour"),
            F.concat(F.lit("s"), site.cast("string")).alias("site_id"),
            F.concat(F.lit("a"), F.pmod(F.hash(F.col("n"), F.lit(seed + 1)), F.lit(7)).cast("string")).alias("app_id"),
        )
    )


@pytest.fixture(scope="module")
def job(spark, settings, overrides, tmp_path_factory):
    root = tmp_path_factory.mktemp("conf") / "conf"
    shutil.copytree(ROOT / "conf", root)
    (root / "base/features" / f"{PIPE}.yml").write_text(yaml.safe_dump(AVAZU))
    (root / "base/features" / f"{SRC_PIPE}.yml").write_text(yaml.safe_dump(SOURCE_ONLY))
    for i, name in enumerate((SRC, SRC_B)):
        for day in (D1, D2):
            tables.write_delta_partition(_stg_day(spark, day, seed=10 * i + day.day), f"stg.{name}", day)
    sets = [x for o in [*overrides, *DECLARE] for x in ("--set", o)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CTRFLOW_CONF", str(root))
        yield lambda name, *args: run_job(name, [*sets, *args], spark=spark)


def _error(capsys) -> str:
    """The job's error: exactly one line of stderr (the rest is the log)."""
    lines = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert len(lines) == 1, lines
    return lines[0]


def _metadata(settings, pipeline: str) -> dict:
    version = Path(artifacts.pipeline_dir(settings, pipeline), "CURRENT").read_text().strip()
    return json.loads(Path(artifacts.version_dir(settings, pipeline, version), "metadata.json").read_text())


def test_source_option_reads_another_declared_source_and_a_mismatch_names_both(spark, settings, job, capsys):
    assert job("features", "--pipeline", SRC_PIPE, "--source", SRC_B, "--ds", str(D1), "--fit") == 0
    meta = _metadata(settings, SRC_PIPE)
    assert (meta["source"], meta["input_table"]) == (SRC_B, f"stg.{SRC_B}")
    b_ids = spark.table(f"stg.{SRC_B}").where(f"ds = '{D1}'").select("id")
    assert spark.table(f"feat.{SRC_PIPE}").where(f"ds = '{D1}'").count() == 4000
    assert b_ids.count() == 4000
    capsys.readouterr()
    # the file's own source with the version fitted on the other one: refused, naming both
    assert job("features", "--pipeline", SRC_PIPE, "--ds", str(D2)) == 2
    err = _error(capsys)
    assert f"was fitted on source '{SRC_B}', not '{SRC}'" in err and "run with --fit" in err
    assert job("features", "--pipeline", SRC_PIPE, "--source", SRC_B, "--ds", str(D2)) == 0
    assert spark.table(f"feat.{SRC_PIPE}").where(f"ds = '{D2}'").count() == 4000
    capsys.readouterr()
    assert job("features", "--pipeline", SRC_PIPE, "--source", "nope_logs", "--ds", str(D2)) == 2
    err = _error(capsys)
    assert "--source nope_logs: not a source declared in sources.yml" in err and SRC_B in err


def test_set_reaches_the_pipeline_and_a_bad_key_is_one_line(spark, settings, job, capsys):
    sets = [
        "--set",
        f"features.{SRC_PIPE}.train_days=2",
        "--set",
        f"features.{SRC_PIPE}.stages.cats.params.min_count=1000",
    ]
    assert job("features", "--pipeline", SRC_PIPE, "--ds", str(D2), "--fit", *sets) == 0
    meta = _metadata(settings, SRC_PIPE)
    assert meta["window"] == [str(D1), str(D2)] and meta["source"] == SRC
    assert meta["pipeline_spec"]["stages"][0]["params"]["min_count"] == 1000
    fm = FeatureMap.from_json(Path(artifacts.pipeline_dir(settings, SRC_PIPE), "feature_map.json").read_text())
    # 8000 rows: ~400 per site (none kept: missing + unknown only), ~1140 per app (all 7 kept)
    assert {f.name: f.vocab_size for f in fm.fields} == {"site_id_idx": 2, "app_id_idx": 9}
    # the same pipeline without the overrides is another pipeline: its hash changed
    capsys.readouterr()
    assert job("features", "--pipeline", SRC_PIPE, "--ds", str(D2)) == 2
    assert "changed since version" in capsys.readouterr().err
    for bad, said in [
        (f"features.{SRC_PIPE}.stages.catz.params.min_count=1", "no entry named 'catz'"),
        (f"features.{SRC_PIPE}.trian_days=1", "did you mean 'train_days'"),
        ("features.no_such_pipe.train_days=1", "no features named 'no_such_pipe'"),
    ]:
        assert job("features", "--pipeline", SRC_PIPE, "--ds", str(D2), "--set", bad) == 2
        assert said in _error(capsys)


def test_click_label_and_kept_id_reach_out_scores(spark, settings, job):
    assert job("features", "--pipeline", PIPE, "--ds", str(D1), "--fit") == 0
    assert job("features", "--pipeline", PIPE, "--ds", str(D2)) == 0
    feat = spark.table(f"feat.{PIPE}")
    fm = FeatureMap.from_json(Path(artifacts.pipeline_dir(settings, PIPE), "feature_map.json").read_text())
    assert fm.label == "click" and "id" not in [f.name for f in fm.fields]
    assert feat.columns == ["click", "id", *[f.name for f in fm.fields], "ds"]
    assert dict(feat.dtypes)["id"] == "string"
    stg = spark.table(f"stg.{SRC}").where(f"ds = '{D2}'").select("id", F.col("click").alias("stg_click"))
    day = feat.where(f"ds = '{D2}'")
    assert day.join(stg, "id").where("click = stg_click").count() == 4000  # ids unchanged, labels follow

    ctr = ["--set", f"ctr.pipeline={PIPE}", "--set", "ctr.backend=local", "--set", "ctr.epochs=2"]
    assert job("train_ctr", "--model", "lr", "--variant", "test", "--ds", str(D2), *ctr) == 0
    mv = Registry.from_settings(settings).versions("lr")[-1]
    assert mv.inputs[f"feat.{PIPE}"] >= 1 and mv.metrics["auc"] > 0.6

    # another model's scores with a plain `label` already in out.scores: both names coexist
    out = tables.table(settings, "out", "scores")
    other = spark.createDataFrame([(1, 0.5, "v0001")], "label int, probability double, model_version string")
    tables.write_delta_partition(
        align_to_table(spark, other, out, "label_it"), out, D2, subpartition={"model": "label_it"}
    )
    assert job("score", "--model", "lr", "--version", mv.version, "--ds", str(D2), *ctr) == 0
    scores = spark.table(out).where(f"ds = '{D2}'")
    assert {"click", "id", "label", "probability", "model_version"} <= set(scores.columns)
    mine = scores.where("model = 'lr'")
    assert mine.count() == 4000 and mine.where("label IS NOT NULL").count() == 0
    assert mine.join(stg, "id").where("click = stg_click").count() == 4000  # joins back to impressions
    theirs = scores.where("model = 'label_it'").first()
    assert (theirs["label"], theirs["click"], theirs["id"]) == (1, None, None)
    # an id of another type under the same name cannot share the table: named, not cast
    clash = spark.createDataFrame([(7, 0.5)], "id bigint, probability double")
    with pytest.raises(DataError, match=r"column 'id' is string there, bigint in clash_it"):
        align_to_table(spark, clash, out, "clash_it")
