"""Fitting a feature pipeline with each estimator's input computed once.

pyspark.ml's `Pipeline.fit` hands each estimator the previous stages' transforms as one lazy plan, so the
passes of the k-th estimator re-run all k-1 transforms before it (the vocabulary joins of `index`, `cross`,
`count_encode`, `target_encode` among them): O(stages^2) passes over the training window, and ever longer
plans to analyse. Here the input of each estimator is persisted (memory, spilling to disk) and
materialised once; the one before it is let go as soon as the new one is complete. The fitted
`PipelineModel` is the same as Pipeline.fit's: same stages, same order, fitted on the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence


def fit_pipeline(stages: Sequence, train):
    """The PipelineModel of `stages` (Estimators and Transformers) fitted on `train`."""
    from pyspark import StorageLevel
    from pyspark.ml import Estimator, PipelineModel

    last = max((i for i, s in enumerate(stages) if isinstance(s, Estimator)), default=-1)
    fitted, df, held = [], train, None
    try:
        for i, stage in enumerate(stages):
            if isinstance(stage, Estimator):
                if df is not train and df is not held:
                    df = df.persist(StorageLevel.MEMORY_AND_DISK)
                    df.count()  # whole before the previous one goes: a partial cache would recompute from it
                    if held is not None:
                        held.unpersist()
                    held = df
                model = stage.fit(df)
            else:
                model = stage
            fitted.append(model)
            if i < last:
                df = model.transform(df)
    finally:
        if held is not None:
            held.unpersist()
    return PipelineModel(stages=fitted)
