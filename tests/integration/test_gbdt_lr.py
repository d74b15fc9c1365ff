"""GBDT leaf encoding + LR on Spark: the leaf encoder against the boosters' own pred_leaf, save/load,
the train_gbdt_lr job with its report and registration, the champion gate, and batch scoring."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jobs.harness import parse_config, run_job
from pipelines.common import tables
from pipelines.core.errors import DataError
from pipelines.gbdt.leaf_encoder import GBDTLeafEncoderModel
from pipelines.registry.store import Registry
from tests.tiny_features import clicks, indexed_feature_map, publish_feature_version, random_features

PIPE = "gbdt_it"
DAYS = [dt.date(2026, 9, 1), dt.date(2026, 9, 2), dt.date(2026, 9, 3)]
CATS, NUMS, VOCAB = ["c1", "c2", "c3"], ["n1", "n2"], 12


def _day(seed: int, rows: int = 3000) -> pd.DataFrame:
    """Labels with a planted interaction (c1 x n1) that trees find and a plain LR cannot."""
    rng = np.random.default_rng(seed)
    df = random_features(rng, rows, CATS, NUMS, VOCAB)
    logit = -1.0 + 0.15 * df["c2"] - 0.8 + 2.0 * ((df["c1"] < VOCAB // 2) == (df["n1"] > 0)) + 0.5 * df["n2"]
    df.insert(0, "label", clicks(rng, logit))
    return df


@pytest.fixture(scope="module")
def feat(spark, settings):
    """feat.gbdt_it with three days and its feature_map.json, as the features job would leave them."""
    name = tables.table(settings, "feat", PIPE)
    for i, day in enumerate(DAYS):
        tables.write_delta_partition(spark.createDataFrame(_day(i)), name, day)
    fm = indexed_feature_map(CATS, NUMS, VOCAB, pipeline=PIPE, version="f0001", table=name)
    publish_feature_version(settings, fm, DAYS[0])
    return name


def _sets(*items: str) -> list[str]:
    return [a for o in items for a in ("--set", o)]


def _job(overrides, name, *args):
    sets = _sets(
        *overrides,
        f"gbdt.pipeline={PIPE}",
        "gbdt.trees.n_estimators=20",
        "gbdt.trees.max_depth=3",
        "gbdt.trees.min_child_weight=5",
        "gbdt.group_col=c3",
    )
    return run_job(name, [*sets, *args], spark=None if name == "publish" else _job.spark)  # args' --set win


def _booster_and_matrix(backend: str):
    df = _day(11, 2000)
    X, y = df[CATS + NUMS].to_numpy(np.float32), df["label"].to_numpy()
    if backend == "xgboost":
        import xgboost as xgb

        b = xgb.train({"max_depth": 3, "eta": 0.3, "objective": "binary:logistic"}, xgb.DMatrix(X, y), 8)
        leaves = b.predict(xgb.DMatrix(X), pred_leaf=True).astype(int)
        tdf = b.trees_to_dataframe()
        per_tree = [sorted(tdf[(tdf.Tree == t) & (tdf.Feature == "Leaf")].Node) for t in range(8)]
        return bytes(b.save_raw("ubj")), df, leaves, per_tree
    import lightgbm as lgb

    b = lgb.train({"objective": "binary", "num_leaves": 7, "verbose": -1}, lgb.Dataset(X, y), 8)
    leaves = b.predict(X, pred_leaf=True).astype(int)
    per_tree = [list(range(t["num_leaves"])) for t in b.dump_model()["tree_info"]]
    return b.model_to_string().encode(), df, leaves, per_tree


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_leaf_encoder_matches_pred_leaf_and_round_trips(spark, tmp_path, backend):
    from pyspark.ml import PipelineModel

    raw, df, leaves, per_tree = _booster_and_matrix(backend)
    enc = GBDTLeafEncoderModel.from_booster(backend, raw, CATS + NUMS)
    sdf = spark.createDataFrame(df.reset_index().rename(columns={"index": "row"}))
    got = enc.transform(sdf).orderBy("row").select("leaves").toPandas()["leaves"]
    sizes = [len(t) for t in per_tree]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    expected = np.array(
        [[offsets[t] + per_tree[t].index(leaves[r, t]) for t in range(len(sizes))] for r in range(len(df))]
    )
    assert all(v.size == sum(sizes) for v in got)
    np.testing.assert_array_equal(np.stack([v.indices for v in got]), expected)
    assert all((v.values == 1.0).all() for v in got)

    PipelineModel(stages=[enc]).write().overwrite().save(str(tmp_path / "m"))
    again = PipelineModel.load(str(tmp_path / "m")).stages[0]
    assert isinstance(again, GBDTLeafEncoderModel) and again.booster_bytes == raw
    assert again.getInputCols() == CATS + NUMS
    reloaded = again.transform(sdf).orderBy("row").select("leaves").toPandas()["leaves"]
    assert all((a.indices == b.indices).all() for a, b in zip(got, reloaded, strict=True))


def test_train_register_gate_and_score(spark, settings, overrides, feat):
    _job.spark = spark
    assert _job(overrides, "train_gbdt_lr", "--ds", str(DAYS[2])) == 0
    reg = Registry.from_settings(settings)
    v1 = reg.get("gbdt_lr", "v0001")
    assert (
        v1.eval_ds == str(DAYS[2])
        and v1.inputs[feat] is not None
        and v1.extra["train_days"] == [str(DAYS[0]), str(DAYS[1])]
    )
    # trees on the older day, LR on the newer one: disjoint, the whole window between them, counts recorded
    x = v1.extra
    assert (x["split_policy"], x["tree_days"], x["lr_days"]) == ("days", [str(DAYS[0])], [str(DAYS[1])])
    assert x["tree_rows"] == x["lr_rows"] == 3000 and x["train_rows"] == 6000
    assert x["gbdt_lr_lr"]["reg_auto"] and x["gbdt_lr_lr"]["reg_param"] in (1e-4, 1e-3, 1e-2, 1e-1)
    report = json.loads(Path(v1.artifacts, "report", "report.json").read_text())
    assert set(report["metrics"]) == {"gbdt_lr", "lr", "gbdt"}
    assert "days: trees on 2026-09-01, LR on 2026-09-02" in report["context"]["trees / LR split"]
    for png in ("roc.png", "calibration.png"):
        assert Path(v1.artifacts, "report", png).stat().st_size > 5000
    m = report["metrics"]
    assert m["gbdt_lr"]["auc"] > m["lr"]["auc"] + 0.02  # the planted interaction is only visible to trees
    assert 0 < m["gbdt_lr"]["gauc_groups"] <= VOCAB and 0.5 < m["gbdt_lr"]["gauc"] < 1

    # save/load: the registered PipelineModel predicts exactly what the job evaluated
    from pipelines.registry.scoring import score

    day = spark.table(feat).where(f"ds = '{DAYS[2]}'")
    p = score(spark, v1, day).select("probability").toPandas()["probability"]
    assert abs(float(p.mean()) - m["gbdt_lr"]["mean_prediction"]) < 1e-9

    assert _job(overrides, "publish", "--model", "gbdt_lr", "--ds", str(DAYS[2])) == 0
    assert reg.champion("gbdt_lr").version == "v0001"

    # a weaker candidate (one stump, leaves only): the job measures the champion on the same day, the gate refuses
    sets = _sets("gbdt.trees.n_estimators=1", "gbdt.trees.max_depth=1", "gbdt.lr_fields=[]")
    assert _job(overrides, "train_gbdt_lr", "--ds", str(DAYS[2]), *sets) == 0
    v2 = reg.get("gbdt_lr", "v0002")
    assert v2.extra["champion_eval"]["version"] == "v0001"
    assert _job(overrides, "publish", "--model", "gbdt_lr", "--ds", str(DAYS[2])) == 0
    assert reg.champion("gbdt_lr").version == "v0001"
    assert reg.decisions("gbdt_lr")[-1]["accepted"] is False
    assert _job(overrides, "publish", "--model", "gbdt_lr", "--ds", str(DAYS[2]), "--require-accept") == 3

    out = tables.table(settings, "out", "scores")
    for _ in range(2):  # a rerun replaces the (ds, model) rows, it does not add to them
        assert _job(overrides, "score", "--model", "gbdt_lr", "--ds", str(DAYS[2])) == 0
    scores = spark.table(out).where(f"ds = '{DAYS[2]}' and model = 'gbdt_lr'")
    assert scores.count() == 3000
    row = scores.selectExpr("min(probability) lo", "max(probability) hi", "min(model_version) v").first()
    assert 0 < row.lo < row.hi < 1 and row.v == "v0001"


def _score(spark, overrides, *args) -> dict:
    """The score job's result."""
    from jobs import score as score_job

    cfg, _ = parse_config(score_job, "score", [*_sets(*overrides), *args])
    return score_job.run(spark, cfg)


def test_a_backfill_scores_with_the_champion_of_its_day_and_never_publishes(spark, settings, overrides, feat, capsys):
    """A champion for DAYS[1], then one for DAYS[2]: scoring DAYS[1] again uses the first; retraining DAYS[1]
    registers a model the gate refuses (an older day than the champion's)."""
    _job.spark = spark
    # versions and champions are the point here, not the LR's regularisation: one fixed regParam, no sweep
    name, small = (
        ["--model-name", "gbdt_bf"],
        ("gbdt.trees.n_estimators=5", "gbdt.train_days=1", "gbdt.lr.reg_param=0.01"),
    )
    assert _job(overrides, "train_gbdt_lr", "--ds", str(DAYS[1]), *name, *_sets(*small)) == 0
    assert _job(overrides, "publish", "--model", "gbdt_bf", "--ds", str(DAYS[1]), "--require-accept") == 0
    assert _job(overrides, "train_gbdt_lr", "--ds", str(DAYS[2]), *name, *_sets(*small)) == 0
    assert _job(overrides, "publish", "--model", "gbdt_bf", "--ds", str(DAYS[2]), "--force") == 0
    reg = Registry.from_settings(settings)
    assert reg.champion("gbdt_bf").version == "v0002"

    assert _score(spark, overrides, "--model", "gbdt_bf", "--ds", str(DAYS[1]))["version"] == "v0001"
    assert _score(spark, overrides, "--model", "gbdt_bf", "--ds", str(DAYS[2]))["version"] == "v0002"
    scores = spark.table(tables.table(settings, "out", "scores")).where("model = 'gbdt_bf'")
    assert {(r.ds, r.model_version) for r in scores.select("ds", "model_version").distinct().collect()} == {
        (str(DAYS[1]), "v0001"),
        (str(DAYS[2]), "v0002"),
    }
    with pytest.raises(DataError, match=f"model 'gbdt_bf' had no champion on {DAYS[0]}.*v0001 for {DAYS[1]}"):
        _score(spark, overrides, "--model", "gbdt_bf", "--ds", str(DAYS[0]))

    # the backfill's training faces the champion of its day; its model is registered, not published
    assert _job(overrides, "train_gbdt_lr", "--ds", str(DAYS[1]), *name, *_sets(*small)) == 0
    assert reg.get("gbdt_bf", "v0003").extra["champion_eval"]["version"] == "v0001"
    capsys.readouterr()
    assert _job(overrides, "publish", "--model", "gbdt_bf", "--ds", str(DAYS[1]), "--require-accept") == 3
    assert f"candidate v0003 was evaluated on {DAYS[1]}, before champion v0002 ({DAYS[2]})" in capsys.readouterr().err
    assert reg.champion("gbdt_bf").version == "v0002"


def test_lightgbm_backend_end_to_end_on_a_one_day_window(spark, settings, overrides, feat):
    """LightGBM through train_gbdt_lr; one training day, so the trees get a hashed half of its rows."""
    from pyspark.ml import PipelineModel

    from pipelines.registry.scoring import score

    _job.spark = spark
    sets = _sets("gbdt.backend=lightgbm", "gbdt.train_days=1", "gbdt.lr.reg_param=0.01")
    assert _job(overrides, "train_gbdt_lr", "--ds", str(DAYS[2]), "--model-name", "gbdt_lgbm", *sets) == 0
    mv = Registry.from_settings(settings).get("gbdt_lgbm", "v0001")
    x = mv.extra
    assert mv.config["backend"] == "lightgbm" and x["train_days"] == [str(DAYS[1])]
    assert x["split_policy"] == "fraction" and x["tree_rows"] + x["lr_rows"] == x["train_rows"] == 3000
    assert 0.4 < x["tree_rows"] / 3000 < 0.6 and x["num_trees"] == 20
    m = json.loads(Path(mv.artifacts, "report", "report.json").read_text())["metrics"]
    assert m["gbdt_lr"]["auc"] > m["lr"]["auc"] + 0.02 and m["gbdt"]["auc"] > 0.6
    encoder = PipelineModel.load(f"{mv.artifacts}/model").stages[0]
    assert encoder.getOrDefault("backend") == "lightgbm" and encoder.fitSummary()["tree_rows"] == x["tree_rows"]
    day = spark.table(feat).where(f"ds = '{DAYS[2]}'")
    p = score(spark, mv, day).select("probability").toPandas()["probability"]
    assert abs(float(p.mean()) - m["gbdt_lr"]["mean_prediction"]) < 1e-9


def test_missing_inputs_are_clear_errors(spark, settings, overrides, feat, capsys):
    _job.spark = spark
    assert _job(overrides, "train_gbdt_lr", "--ds", "2026-08-01") == 1
    assert "no rows for the validation day ds=2026-08-01" in capsys.readouterr().err
    assert _job(overrides, "train_gbdt_lr", "--ds", str(DAYS[2]), "--set", "gbdt.tree_fields=[c9]") == 1
    assert "gbdt.tree_fields: ['c9']" in capsys.readouterr().err
    assert _job(overrides, "score", "--model", "no_such_model", "--ds", str(DAYS[1])) == 1
    assert "no model named 'no_such_model'" in capsys.readouterr().err


def test_one_hot_assembler_by_hand(spark):
    from pyspark.ml.linalg import SparseVector

    from pipelines.gbdt.onehot import OneHotAssembler

    df = spark.createDataFrame([(0, 2, 1.5), (3, 0, -2.0)], "a int, b int, x double")
    enc = OneHotAssembler(categoricalCols=["a", "b"], categoricalSizes=[4, 3], numericCols=["x"], outputCol="v")
    assert enc.size() == 8
    got = [r.v for r in enc.transform(df).collect()]
    assert got == [SparseVector(8, [0, 6, 7], [1, 1, 1.5]), SparseVector(8, [3, 4, 7], [1, 1, -2.0])]
    with pytest.raises(Exception, match="column a: index 4 outside its vocabulary"):
        enc.transform(spark.createDataFrame([(4, 0, 0.0)], "a int, b int, x double")).collect()
    # a folds from 4 to 3 slots: 0 and 1 keep theirs, 3 -> 2 + (3 - 2) mod 1 = 2; b (3 wide) is untouched
    folded = enc.copy({enc.maxFieldDim: 3})
    assert folded.size() == 7
    got = [r.v for r in folded.transform(df).collect()]
    assert got == [SparseVector(7, [0, 5, 6], [1, 1, 1.5]), SparseVector(7, [2, 3, 6], [1, 1, -2.0])]
