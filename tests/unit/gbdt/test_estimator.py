"""GBDTLeafEncoder: the split it owns (disjoint, complete, deterministic), what the trees and the LR
actually saw inside build_models, the recorded counts, and save/load of the Estimator and its model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.common import schema
from pipelines.core.errors import DataError
from pipelines.features.feature_map import FeatureMap
from pipelines.gbdt import estimator as estimator_mod
from pipelines.gbdt import train as train_mod
from pipelines.gbdt.estimator import GBDTLeafEncoder
from pipelines.settings.gbdt import GbdtSettings
from tests.tiny_features import clicks, indexed_feature_map, random_features

CATS, NUMS, VOCAB = ["c1", "c2"], ["n1"], 6
DAYS = ["2026-09-01", "2026-09-02", "2026-09-03"]


def _window(days: list[str], rows_per_day: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = rows_per_day * len(days)
    ids = pd.DataFrame({"id": np.arange(n, dtype=np.int64), "ds": np.repeat(days, rows_per_day)})
    df = ids.join(random_features(rng, n, CATS, NUMS, VOCAB))
    logit = -0.5 + 1.5 * ((df["c1"] < VOCAB // 2) == (df["n1"] > 0))
    df["label"] = clicks(rng, logit)
    return df


def _fm() -> FeatureMap:
    return indexed_feature_map(CATS, NUMS, VOCAB, pipeline="unit", version="f0001", table="feat.unit")


def _ids(df) -> set[int]:
    return {int(r[0]) for r in df.select("id").collect()}


def _enc(**kw) -> GBDTLeafEncoder:
    return GBDTLeafEncoder(
        inputCols=[*CATS, *NUMS],
        labelCol="label",
        backend="lightgbm",
        nEstimators=5,
        maxDepth=3,
        numLeaves=7,
        minChildWeight=1.0,
        **kw,
    )


def test_days_split_is_disjoint_complete_and_by_day(spark):
    sdf = spark.createDataFrame(_window(DAYS))
    every = set(range(900))
    for tree_days, tree_ds, lr_ds in [("older", DAYS[:2], DAYS[2:]), ("newest", DAYS[2:], DAYS[:2])]:
        enc = _enc(splitPolicy="auto", treeDays=tree_days)
        s = enc.resolveSplit(sdf)
        assert (s.policy, s.tree_days, s.lr_days) == ("days", tree_ds, lr_ds)
        trees, lr = enc.split(sdf, s)
        t_ids, l_ids = _ids(trees), _ids(lr)
        assert not t_ids & l_ids and t_ids | l_ids == every
        assert {r[0] for r in trees.select("ds").distinct().collect()} == set(tree_ds)
    one_day = sdf.where(f"ds = '{DAYS[0]}'")
    with pytest.raises(DataError, match="splitPolicy 'days' needs >= 2 days"):
        _enc(splitPolicy="days").resolveSplit(one_day)
    assert _enc(splitPolicy="auto").resolveSplit(one_day).policy == "fraction"


def test_one_day_fraction_split_is_deterministic(spark):
    pdf = _window(DAYS[:1], 2000)
    sdf = spark.createDataFrame(pdf)
    enc = _enc(leafFitFraction=0.3)
    trees, lr = enc.split(sdf)
    t_ids, l_ids = _ids(trees), _ids(lr)
    assert not t_ids & l_ids and t_ids | l_ids == set(range(2000))
    assert 0.25 < len(t_ids) / 2000 < 0.35
    # the same rows in another order and partitioning land on the same sides; another seed moves them
    shuffled = spark.createDataFrame(pdf.sample(frac=1.0, random_state=1)).repartition(3)
    assert _ids(enc.split(shuffled)[0]) == t_ids
    assert _ids(_enc(leafFitFraction=0.3, seed=8).split(sdf)[0]) != t_ids
    # the hash reads the model's inputs, label and day, not other columns: an extra column changes nothing
    assert _ids(enc.split(sdf.withColumn("extra", sdf["id"] * 7))[0]) == t_ids
    with pytest.raises(DataError, match="leafFitFraction must be in"):
        _enc(leafFitFraction=1.0).split(sdf)


@pytest.mark.parametrize("policy", ["days", "fraction"])
def test_build_models_fits_trees_and_lr_on_disjoint_rows(spark, monkeypatch, policy):
    """The rows the booster and gbdt_lr's LR actually received, recorded by spies around the real fits."""
    seen: dict[str, set[int]] = {}
    real_booster, real_lr = estimator_mod.fit_booster, train_mod.fit_lr

    def booster_spy(df, *a, **kw):
        seen["trees"] = _ids(df)
        return real_booster(df, *a, **kw)

    def lr_spy(df, features_col, *a, **kw):
        seen["lr" if features_col == "lr_features" else "baseline"] = _ids(df)
        return real_lr(df, features_col, *a, **kw)

    monkeypatch.setattr(estimator_mod, "fit_booster", booster_spy)
    monkeypatch.setattr(train_mod, "fit_lr", lr_spy)
    s = schema.build(
        GbdtSettings,
        {
            "backend": "lightgbm",
            "split": {"policy": policy},
            "trees": {"n_estimators": 5, "max_depth": 3, "num_leaves": 7, "min_child_weight": 1.0},
            "lr": {"reg_param": 0.01, "max_iter": 10},
        },
    )
    window = spark.createDataFrame(_window(DAYS[:2], 400))
    models, facts = train_mod.build_models(window, _fm(), s)
    every = set(range(800))
    assert seen["trees"] and seen["lr"] and not seen["trees"] & seen["lr"]
    assert seen["trees"] | seen["lr"] == every
    assert seen["baseline"] == every  # the LR baseline keeps the whole window
    assert (facts["tree_rows"], facts["lr_rows"]) == (len(seen["trees"]), len(seen["lr"]))
    assert facts["split_policy"] == policy
    if policy == "days":
        assert (facts["tree_days"], facts["lr_days"]) == ([DAYS[0]], [DAYS[1]])
        assert seen["trees"] == set(range(400))
    assert models["gbdt_lr"].stages[0].fitSummary()["tree_rows"] == len(seen["trees"])
    assert facts["gbdt_lr_lr"]["reg_param"] == 0.01 and "reg_grid" not in facts["gbdt_lr_lr"]


def test_auto_reg_param_picks_from_the_grid_on_the_lrs_own_rows(spark):
    s = schema.build(
        GbdtSettings,
        {
            "backend": "lightgbm",
            "split": {"policy": "fraction"},
            "trees": {"n_estimators": 5, "max_depth": 3, "num_leaves": 7, "min_child_weight": 1.0},
            "lr": {"reg_param": "auto", "reg_grid": [1e-4, 10.0], "max_iter": 20},
        },
    )
    window = spark.createDataFrame(_window(DAYS[:1], 1500))
    models, facts = train_mod.build_models(window, _fm(), s, only=("gbdt_lr",))
    lr = facts["gbdt_lr_lr"]
    assert lr["reg_auto"] and set(lr["reg_grid"]) == {"0.0001", "10.0"}
    # a penalty of 10 flattens the LR to the base rate: the held-out logloss must prefer 1e-4
    assert lr["reg_grid"]["0.0001"]["logloss"] < lr["reg_grid"]["10.0"]["logloss"]
    assert lr["reg_param"] == 1e-4 and models["gbdt_lr"].stages[-1].getRegParam() == 1e-4
    assert "gbdt_lr regParam" in train_mod.report_context(facts)


def test_estimator_and_fitted_model_round_trip(spark, tmp_path):
    from pyspark.ml import PipelineModel

    enc = _enc(splitPolicy="fraction", leafFitFraction=0.4, treeDays="newest", seed=11)
    enc.write().overwrite().save(str(tmp_path / "est"))
    again = GBDTLeafEncoder.load(str(tmp_path / "est"))
    for p in (
        "inputCols",
        "labelCol",
        "backend",
        "nEstimators",
        "numLeaves",
        "splitPolicy",
        "treeDays",
        "leafFitFraction",
        "seed",
        "minChildWeight",
    ):
        assert again.getOrDefault(p) == enc.getOrDefault(p), p
    sdf = spark.createDataFrame(_window(DAYS[:1], 500))
    assert _ids(again.split(sdf)[0]) == _ids(enc.split(sdf)[0])

    model = enc.fit(sdf)
    summary = model.fitSummary()
    assert summary["split_policy"] == "fraction" and summary["tree_rows"] + summary["lr_rows"] == 500
    assert summary["tree_rows"] == len(_ids(enc.split(sdf)[0]))
    PipelineModel(stages=[model]).write().overwrite().save(str(tmp_path / "model"))
    loaded = PipelineModel.load(str(tmp_path / "model")).stages[0]
    assert loaded.fitSummary() == summary and loaded.booster_bytes == model.booster_bytes
    got = [v.indices.tolist() for v in loaded.transform(sdf).orderBy("id").select("leaves").toPandas()["leaves"]]
    want = [v.indices.tolist() for v in model.transform(sdf).orderBy("id").select("leaves").toPandas()["leaves"]]
    assert got == want and len(got[0]) == 5  # one leaf per tree


def test_vector_columns_carry_their_size_in_ml_metadata(spark):
    """Leaves and one-hot vectors made with mapInArrow say their size in Spark ML's attribute metadata, so
    VectorAssembler / LogisticRegression never run a job on a first row to learn it (that job stops the
    Arrow stream early and the Python worker prints a BrokenPipeError traceback on successful runs)."""
    from pyspark.ml.linalg import VectorUDT

    s = schema.build(
        GbdtSettings,
        {
            "backend": "lightgbm",
            "split": {"policy": "fraction"},
            "trees": {"n_estimators": 5, "max_depth": 3, "num_leaves": 7, "min_child_weight": 1.0},
            "lr": {"reg_param": 0.01, "max_iter": 5},
        },
    )
    window = spark.createDataFrame(_window(DAYS[:1], 300))
    models, _ = train_mod.build_models(window, _fm(), s, only=("gbdt_lr",))
    out = models["gbdt_lr"].transform(window)
    vectors = [f for f in out.schema.fields if isinstance(f.dataType, VectorUDT)]
    assert vectors
    first = out.select(*[f.name for f in vectors]).first()
    for f in vectors:
        assert f.metadata.get("ml_attr", {}).get("num_attrs") == first[f.name].size, f.name
