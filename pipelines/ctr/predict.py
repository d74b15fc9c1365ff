"""Batch scoring and embedding export through Spark with a saved torch model.

`score_dataframe(spark, mv, df)` is what pipelines.registry.scoring calls for flavor `torch`: df (a feat
DataFrame) comes back with a double column `probability`. Rows travel as Arrow batches (`mapInArrow`)
and become tensors with numpy; each Python worker loads a model once and keeps it, keyed by its path.
"""

from __future__ import annotations

from pipelines.common import storage
from pipelines.core.errors import DataError
from pipelines.ctr.models.base import META_FILE, FeatureSpec

_MODELS: dict[str, object] = {}  # model directory -> loaded model, per Python worker


def cached_model(model_dir: str):
    model = _MODELS.get(model_dir)
    if model is None:
        import torch

        from pipelines.ctr.models import load_model

        torch.set_num_threads(1)  # one model per Spark task slot: no oversubscription
        model = _MODELS[model_dir] = load_model(model_dir)
    return model


def model_spec(model_dir: str) -> tuple[str, FeatureSpec, dict]:
    """(model name, feature spec, config) of a saved model, read on the driver without loading weights."""
    meta = storage.read_json(f"{model_dir.rstrip('/')}/{META_FILE}")
    return meta["model"], FeatureSpec(**meta["features"]), meta["config"]


def _check_columns(df, spec: FeatureSpec, model_dir: str) -> None:
    missing = [c for c in [*spec.cat_fields, *spec.num_fields] if c not in df.columns]
    if missing:
        raise DataError(f"cannot score with the model at {model_dir}: the input lacks its feature columns {missing}")


def score_with_model(df, model_dir: str, prob_col: str = "probability"):
    """df plus a double `prob_col`: the model's click probability for each row."""
    import pyarrow as pa
    from pyspark.sql.types import DoubleType, StructField, StructType

    _, spec, _ = model_spec(model_dir)
    _check_columns(df, spec, model_dir)
    if prob_col in df.columns:
        df = df.drop(prob_col)
    schema = StructType([*df.schema.fields, StructField(prob_col, DoubleType(), False)])

    def predict(batches):
        import torch

        from pipelines.ctr.data import to_arrays

        model = cached_model(model_dir)
        for rb in batches:
            cat, num, _ = to_arrays(rb, model.spec)
            prob = model.predict(torch.from_numpy(cat), torch.from_numpy(num)).numpy().astype("float64")
            yield pa.RecordBatch.from_arrays([*rb.columns, pa.array(prob)], names=[*rb.schema.names, prob_col])

    return df.mapInArrow(predict, schema)


def score_dataframe(spark, mv, df):
    """Score a feat DataFrame with a registered torch model (artifacts under mv.artifacts)."""
    return score_with_model(df, f"{mv.artifacts}/model")


def tower_embeddings(df, model_dir: str, tower: str, id_field: str, key: str | None = None):
    """One row per distinct id in df: (id, vector array<float>) from the two-tower model's `tower` ('user'
    or 'item'), computed on the first row Spark keeps for that id. The id is `key`, a raw column of df (a
    pipeline's `keep:` column such as user_id, its type kept), or else the indexed `id_field` (long)."""
    import pyarrow as pa
    from pyspark.sql.types import ArrayType, FloatType, LongType, StructField, StructType

    name, spec, _ = model_spec(model_dir)
    if name != "two_tower":
        raise DataError(f"the model at {model_dir} is '{name}': only two_tower has user / item embeddings")
    _check_columns(df, spec, model_dir)
    if key is not None and key not in df.columns:
        raise DataError(
            f"the {tower} key column '{key}' is not in the rows to embed (columns: {', '.join(df.columns)})"
        )
    id_col = key or id_field
    id_type = df.schema[key].dataType if key else LongType()
    extra = [key] if key and key not in (*spec.cat_fields, *spec.num_fields) else []
    rows = df.select(*extra, *spec.cat_fields, *spec.num_fields).dropDuplicates([id_col])
    schema = StructType(
        [StructField("id", id_type, False), StructField("vector", ArrayType(FloatType(), False), False)]
    )

    def embed(batches):
        import numpy as np
        import torch

        from pipelines.ctr.data import to_arrays

        model = cached_model(model_dir)
        fn = model.user_embedding if tower == "user" else model.item_embedding
        for rb in batches:
            cat, num, _ = to_arrays(rb, model.spec)
            with torch.no_grad():
                vec = fn(torch.from_numpy(cat), torch.from_numpy(num)).numpy().astype(np.float32)
            offsets = pa.array(np.arange(0, vec.size + 1, vec.shape[1], dtype=np.int32))
            vectors = pa.ListArray.from_arrays(offsets, pa.array(vec.reshape(-1)))
            ids = rb.column(id_col) if key else rb.column(id_col).cast(pa.int64())
            yield pa.RecordBatch.from_arrays([ids, vectors], names=["id", "vector"])

    return rows.where(f"`{id_col}` IS NOT NULL").mapInArrow(embed, schema)
