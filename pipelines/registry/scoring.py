"""Score a DataFrame with any registered model, whatever trained it: `score(spark, mv, df)`.

The model version's flavor says how: `spark_pipeline` loads the PipelineModel from
<artifacts>/model (GBDT+LR and its baselines); `torch` hands over to pipelines.ctr.predict. The result
is df with a double column `probability` (a vector probability, as MLlib's classifiers output, becomes
the positive class's probability).
"""

from __future__ import annotations

import importlib

from pipelines.core.errors import DataError
from pipelines.registry.store import RegistryDamaged

# flavor -> "module:function(spark, mv, df) -> DataFrame with a double `probability`"
FLAVORS = {
    "spark_pipeline": "pipelines.registry.scoring:score_spark_pipeline",
    "torch": "pipelines.ctr.predict:score_dataframe",
}


def as_probability(df, col: str = "probability", source: str = "lr_probability"):
    """df with `col` as a double: taken from `source` (an MLlib probability vector) when df lacks `col`."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    if col in df.columns and dict(df.dtypes)[col] == "double":
        return df
    if source not in df.columns:
        raise DataError(f"the model's output has neither a double '{col}' nor a probability vector '{source}'")
    return df.withColumn(col, vector_to_array(F.col(source))[1])


def score_spark_pipeline(spark, mv, df):
    from pyspark.ml import PipelineModel

    path = f"{mv.artifacts}/model"
    try:
        model = PipelineModel.load(path)
    except Exception as e:  # a deleted or truncated model: Spark says UNABLE_TO_INFER_SCHEMA and a JVM stack
        raise RegistryDamaged(
            f"model {mv.name} {mv.version}: cannot load its Spark pipeline from {path}: {_first_line(e)}"
        ) from None
    return as_probability(model.transform(df))


def _first_line(e: Exception) -> str:
    """The line of a Spark or Py4J error that says what went wrong, without the JVM stack."""
    java = getattr(e, "java_exception", None)
    text = str(java) if java is not None else str(e)
    lines = [ln.strip(" :") for ln in text.splitlines() if ln.strip(" :") and not ln.startswith("An error occurred")]
    return (lines[0] if lines else type(e).__name__)[:500]


def score(spark, mv, df):
    target = FLAVORS.get(mv.flavor)
    if target is None:
        raise DataError(
            f"model {mv.name} {mv.version} has flavor '{mv.flavor}', which cannot score rows "
            f"(scorable flavors: {', '.join(sorted(FLAVORS))})"
        )
    module, fn = target.split(":")
    try:
        scorer = getattr(importlib.import_module(module), fn)
    except (ImportError, AttributeError) as e:
        raise DataError(f"model {mv.name} {mv.version}: the {mv.flavor} scorer {target} is not available ({e})") from e
    return scorer(spark, mv, df)
