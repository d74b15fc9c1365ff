"""Each stage on tiny DataFrames: exact outputs, unseen and missing values, save/load in a PipelineModel."""

from __future__ import annotations

import math

import pytest

from pipelines.features.stages.bucketize import QuantileBucketizer
from pipelines.features.stages.clip import ClipTransform
from pipelines.features.stages.count_encode import CountEncoder
from pipelines.features.stages.cross import FeatureCross
from pipelines.features.stages.hashing import HashEncoder
from pipelines.features.stages.impute import NumericImputer
from pipelines.features.stages.index import FrequencyIndexer
from pipelines.features.stages.log import LogTransform
from tests.unit.features.conftest import rows

NUMS = [(1, 1.0, 10), (2, 2.0, None), (3, None, 30), (4, 5.0, -4), (5, float("nan"), 0)]


@pytest.fixture(scope="module")
def nums(spark):
    return spark.createDataFrame(NUMS, "id int, x double, n int")


@pytest.fixture(scope="module")
def cats(spark):
    data = [(1, "a", 1), (2, "a", 2), (3, "a", 1), (4, "b", 1), (5, "b", 2), (6, "c", 1), (7, None, 1)]
    return spark.createDataFrame(data, "id int, c string, k int")


def test_imputer_median_with_indicator(nums, roundtrip):
    stage = NumericImputer(inputCols=["x", "n"], outputCols=["x_f", "n_f"], strategy="median", addIndicator=True)
    model, out = roundtrip([stage], nums)
    assert model.stages[0].fills() == {"x": 2.0, "n": 0.0}
    got = rows(out, "x_f", "x_f_missing", "n_f", "n_f_missing")
    assert got == {
        1: (1.0, 0, 10.0, 0),
        2: (2.0, 0, 0.0, 1),
        3: (2.0, 1, 30.0, 0),
        4: (5.0, 0, -4.0, 0),
        5: (2.0, 1, 0.0, 0),
    }


def test_imputer_mean_and_constant(nums, spark):
    mean = NumericImputer(inputCols=["x"], strategy="mean").fit(nums)
    assert mean.fills() == {"x": pytest.approx(8 / 3)}
    assert mean.outputNames() == ["x_imp"]
    const = NumericImputer(inputCols=["x"], outputCols=["x0"], strategy="constant", fillValue=-1.0).fit(nums)
    assert rows(const.transform(nums), "x0")[3] == (-1.0,)


def test_log_and_clip(nums, roundtrip):
    log = LogTransform(inputCols=["n"], outputCols=["n_log"])
    clip = ClipTransform(inputCols=["n_log"], outputCols=["n_c"], lower=0.0, upper=3.0)
    _, out = roundtrip([log, clip], nums)
    got = rows(out, "n_log", "n_c")
    assert got[1] == (pytest.approx(math.log(11)), pytest.approx(math.log(11)))
    assert got[2] == (None, None)  # missing stays missing: impute first if you want a value
    assert got[3] == (pytest.approx(math.log(31)), 3.0)
    assert got[4] == (pytest.approx(-math.log(5)), 0.0)


def test_bucketizer_splits_missing_and_later_values(nums, spark, roundtrip):
    stage = QuantileBucketizer(inputCols=["x", "n"], outputCols=["xb", "nb"], numBuckets=2)
    later = spark.createDataFrame([(1, 100.0, -100), (2, None, 5), (3, 1.5, None)], "id int, x double, n int")
    model, out = roundtrip([stage], nums, other=later)
    m = model.stages[0]
    assert m.splits() == {"x": [2.0], "n": [0.0]}
    assert m.vocabSizes() == {"xb": 3, "nb": 3}
    assert rows(out, "xb", "nb") == {1: (2, 1), 2: (0, 2), 3: (1, 0)}
    # on the fitted rows: NaN counts as missing
    assert rows(m.transform(nums), "xb")[5] == (0,)


def test_frequency_indexer_min_count_top_k_unknown_and_missing(cats, spark, roundtrip):
    stage = FrequencyIndexer(inputCols=["c", "k"], outputCols=["ci", "ki"], minCount=2)
    later = spark.createDataFrame([(1, "a", 2), (2, "zzz", 7), (3, None, None), (4, "c", 1)], "id int, c string, k int")
    model, out = roundtrip([stage], cats, other=later)
    m = model.stages[0]
    assert m.vocabulary("c") == ["a", "b"]  # c occurs once: below min_count
    assert m.vocabulary("k") == ["1", "2"]
    assert m.vocabSizes() == {"ci": 4, "ki": 4}
    assert rows(out, "ci", "ki") == {1: (2, 3), 2: (1, 1), 3: (0, 0), 4: (1, 2)}
    top1 = FrequencyIndexer(inputCols=["c"], outputCols=["ci"], topK=1).fit(cats)
    assert top1.vocabulary("c") == ["a"]
    assert rows(top1.transform(cats), "ci") == {1: (2,), 2: (2,), 3: (2,), 4: (1,), 5: (1,), 6: (1,), 7: (0,)}


def test_hash_encoder_is_deterministic_and_handles_arrays(spark, roundtrip):
    df = spark.createDataFrame(
        [(1, "a", ["a", "b"]), (2, "a", None), (3, None, ["b", None])], "id int, c string, tags array<string>"
    )
    stage = HashEncoder(inputCols=["c", "tags"], outputCols=["ch", "th"], numBuckets=8)
    _, out = roundtrip([stage], df)
    got = rows(out, "ch", "th")
    a, b = got[1][1]
    assert got[1][0] == got[2][0] == a and 1 <= a <= 8 and 1 <= b <= 8
    assert got[2][1] == [] and got[3] == (0, [b, 0])


def test_cross_hashed_and_indexed(cats, spark, roundtrip):
    hashed = FeatureCross(inputCols=["c", "k"], outputCol="cx", numBuckets=1000)
    indexed = FeatureCross(inputCols=["c", "k"], outputCol="ci", minCount=2)
    later = spark.createDataFrame([(1, "a", 1), (2, "b", 1), (3, "a", 9), (4, None, None)], "id int, c string, k int")
    model, out = roundtrip([hashed, indexed], cats, other=later)
    assert model.stages[1].vocabSizes() == {"ci": 3}  # only (a, 1) occurs twice
    got = rows(out, "cx", "ci")
    assert got[1][1] == 2 and got[2][1] == 1 and got[3][1] == 1 and got[4] == (0, 0)
    assert len({got[i][0] for i in (1, 2, 3)}) == 3 and all(1 <= got[i][0] <= 1000 for i in (1, 2, 3))
    # the hashed cross of a row equals the one computed on the fitted rows
    fitted = rows(model.transform(cats), "cx")
    assert fitted[1] == (got[1][0],)


def test_count_encoder(cats, spark, roundtrip):
    stage = CountEncoder(inputCols=["c"], outputCols=["cn"], minCount=2, logScale=False)
    later = spark.createDataFrame([(1, "a"), (2, "c"), (3, "new"), (4, None)], "id int, c string")
    _, out = roundtrip([stage], cats.select("id", "c"), other=later)
    assert rows(out, "cn") == {1: (3.0,), 2: (0.0,), 3: (0.0,), 4: (0.0,)}
