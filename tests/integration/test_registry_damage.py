"""Scoring with a damaged Spark model: one line naming the model and version, not Spark's error."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.registry.scoring import score
from pipelines.registry.store import Registry, RegistryDamaged


def test_a_deleted_model_file_is_named_with_or_without_a_manifest(spark, tmp_path):
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler

    df = spark.createDataFrame([(0.0, 0.0), (1.0, 1.0), (0.2, 0.0), (0.9, 1.0)], ["x", "label"])
    model = Pipeline(
        stages=[
            VectorAssembler(inputCols=["x"], outputCol="features"),
            LogisticRegression(maxIter=2, probabilityCol="lr_probability"),
        ]
    ).fit(df)
    reg = Registry(str(tmp_path / "models"))
    staged = reg.stage("lr")
    model.save(f"{staged}/model")
    mv = reg.register("lr", staged=staged, kind="lr", flavor="spark_pipeline", eval_ds=None, metrics={})
    assert score(spark, mv, df).count() == 4

    [data] = Path(mv.artifacts, "model", "stages").glob("1_LogisticRegression*/data")
    for f in data.iterdir():  # the directory stays, its files go: Spark cannot infer a schema
        f.unlink()
    with pytest.raises(
        RegistryDamaged,
        match=r"^model lr v0001: artifacts/model/stages/1_LogisticRegression\S*/data/"
        r"\S+ missing",
    ):
        reg.verify(mv)  # what the score job does before it loads the model
    Path(mv.uri, "manifest.json").unlink()  # a version registered before manifests: Spark's load fails
    with pytest.raises(RegistryDamaged) as e:
        score(spark, mv, df)
    message = str(e.value)
    assert message.startswith(f"model lr v0001: cannot load its Spark pipeline from {mv.artifacts}/model: ")
    assert "\n" not in message and "UNABLE_TO_INFER_SCHEMA" in message and "\tat " not in message
