"""fit_pipeline: the same fitted stages and outputs as pyspark.ml's Pipeline.fit, no cache left behind."""

from __future__ import annotations

from pyspark.ml import Pipeline

from pipelines.features.fitting import fit_pipeline
from pipelines.features.stages.bucketize import QuantileBucketizer
from pipelines.features.stages.clip import ClipTransform
from pipelines.features.stages.count_encode import CountEncoder
from pipelines.features.stages.cross import FeatureCross
from pipelines.features.stages.index import FrequencyIndexer
from pipelines.features.stages.log import LogTransform
from tests.unit.features.conftest import rows


def _stages():
    """Estimators fitted on earlier stages' outputs, and a transformer after the last estimator."""
    return [
        LogTransform(inputCols=["n"], outputCols=["n_log"]),
        QuantileBucketizer(inputCols=["n_log"], outputCols=["nb"], numBuckets=3),
        FrequencyIndexer(inputCols=["c"], outputCols=["ci"], minCount=2),
        FeatureCross(inputCols=["ci", "nb"], outputCol="x", minCount=1),
        CountEncoder(inputCols=["x"], outputCols=["x_n"], minCount=1, logScale=False),
        ClipTransform(inputCols=["x_n"], outputCols=["x_c"], lower=0.0, upper=2.0),
    ]


def test_same_model_as_pipeline_fit_and_nothing_left_cached(spark):
    data = [(i, "abc"[i % 3] if i % 7 else None, (i * 37) % 101 - 20) for i in range(60)]
    train = spark.createDataFrame(data, "id int, c string, n int")
    cached = spark.sparkContext._jsc.getPersistentRDDs().size()

    ours = fit_pipeline(_stages(), train)
    theirs = Pipeline(stages=_stages()).fit(train)

    assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached
    assert [type(s) for s in ours.stages] == [type(s) for s in theirs.stages]
    assert ours.stages[1].splits() == theirs.stages[1].splits()
    assert ours.stages[3].vocabSizes() == theirs.stages[3].vocabSizes()
    cols = ["n_log", "nb", "ci", "x", "x_n", "x_c"]
    got = rows(ours.transform(train), *cols)
    assert got == rows(theirs.transform(train), *cols)
    assert len({v[3] for v in got.values()}) > 3  # the cross saw the earlier stages' outputs
