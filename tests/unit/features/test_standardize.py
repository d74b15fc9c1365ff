"""The standardize stage: fit-window statistics, clipping, missing values, persistence, pipeline validation."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.common import schema
from pipelines.core.errors import ConfigError
from pipelines.features.builder import PipelineSpec, validate
from pipelines.features.stages.standardize import Standardizer
from tests.unit.features.conftest import rows

# x: a heavy-tailed count up to 10^6; k: an int column with a null and one constant-free spread
TRAIN = [(1, 1.0, 3), (2, 10.0, None), (3, 1000.0, 5), (4, 1_000_000.0, 7), (5, None, 9), (6, float("nan"), 11)]


@pytest.fixture(scope="module")
def train(spark):
    return spark.createDataFrame(TRAIN, "id int, x double, k int")


def _stats(values):
    v = np.asarray(values, dtype=np.float64)
    return v.mean(), v.std()


def test_fit_statistics_come_from_finite_values_only(train):
    model = Standardizer(inputCols=["x", "k"], clip=0.0).fit(train)
    mx, sx = _stats([1.0, 10.0, 1000.0, 1_000_000.0])
    mk, sk = _stats([3, 5, 7, 9, 11])
    assert model.means() == {"x": pytest.approx(mx), "k": pytest.approx(mk)}
    assert model.stds() == {"x": pytest.approx(sx), "k": pytest.approx(sk)}
    assert model.outputNames() == ["x_std", "k_std"]
    got = rows(model.transform(train), "x_std", "k_std")
    assert got[4] == (pytest.approx((1_000_000 - mx) / sx), pytest.approx((7 - mk) / sk))
    assert got[2][1] == 0.0 and got[5][0] == 0.0 and got[6][0] == 0.0  # null and NaN -> 0, the mean


def test_outputs_are_clipped_and_missing_values_flagged(train, spark, roundtrip):
    stage = Standardizer(inputCols=["x", "k"], outputCols=["xs", "ks"], clip=1.0, addIndicator=True)
    later = spark.createDataFrame(
        [(1, 5e6, -100), (2, None, 7), (3, float("inf"), None), (4, -float("inf"), 9)], "id int, x double, k int"
    )
    model, out = roundtrip([stage], train, other=later)
    m = model.stages[0]
    assert m.vocabSizes() == {"xs_missing": 2, "ks_missing": 2}
    got = rows(out, "xs", "xs_missing", "ks", "ks_missing")
    mk, sk = _stats([3, 5, 7, 9, 11])
    assert got[1] == (1.0, 0, -1.0, 0)  # 5e6 and -100 are far outside the fit window: clipped to +-clip
    assert got[2] == (0.0, 1, pytest.approx((7 - mk) / sk), 0)
    assert got[3] == (0.0, 1, 0.0, 1) and got[4][:2] == (0.0, 1)  # infinities are missing values too
    values = [v for r in got.values() for v in (r[0], r[2])]
    assert all(-1.0 <= v <= 1.0 for v in values)


def test_default_clip_keeps_a_heavy_tail_within_five(spark):
    rng = np.random.default_rng(0)
    counts = np.minimum(rng.lognormal(7.5, 2.0, 2000), 1.6e6)
    counts[:3] = [0.0, 1.6e6, 1.5e6]
    df = spark.createDataFrame([(i, float(c)) for i, c in enumerate(counts)], "id int, x double")
    out = Standardizer(inputCols=["x"]).fit(df).transform(df)
    agg = out.selectExpr("min(x_std) lo", "max(x_std) hi", "avg(x_std) m").first()
    assert agg.hi == 5.0 and -5.0 <= agg.lo < 0 and abs(agg.m) < 0.05


def test_a_constant_or_empty_column_centres_to_zero(spark):
    df = spark.createDataFrame([(1, 4.0, None), (2, 4.0, None)], "id int, c double, e double")
    model = Standardizer(inputCols=["c", "e"]).fit(df)
    assert model.stds() == {"c": 1.0, "e": 1.0} and model.means() == {"c": 4.0, "e": 0.0}
    assert rows(model.transform(df), "c_std", "e_std") == {1: (0.0, 0.0), 2: (0.0, 0.0)}


def test_the_yaml_spec_is_validated_and_declares_its_outputs():
    source = {"label": "int", "x": "double", "c": "string"}
    spec = schema.build(
        PipelineSpec,
        {
            "source": "s",
            "stages": [
                {"name": "z", "type": "standardize", "params": {"inputs": ["x"], "outputs": ["x_z"], "indicator": True}}
            ],
        },
    )
    plan = validate(spec, source, name="t")
    assert plan.features == ["x_z", "x_z_missing"]
    assert plan.columns["x_z"].column.kind == "numeric" and plan.columns["x_z_missing"].column.kind == "categorical"
    bad = schema.build(
        PipelineSpec,
        {"source": "s", "stages": [{"name": "z", "type": "standardize", "params": {"inputs": ["c"], "clip": -1}}]},
    )
    with pytest.raises(ConfigError, match=r"stage 'z'.*clip must be > 0"):
        validate(bad, source, name="t")
