"""The logistic regressions of train_gbdt_lr, with a regularisation that follows the data.

`lr.reg_param` is a number, or `auto`: a hashed slice of the LR's *own* rows (`lr.tune_fraction`,
never the validation day, which is reported and gated on) is held out, one LR per value of
`lr.reg_grid` is fitted on the rest (from the weakest penalty up, stopping once the held-out
logloss gets worse), the value with the lowest held-out logloss wins and the LR is refitted with it on
all its rows. The best penalty moves by orders of magnitude with the window's
size (0.1 on 8k real rows, 1e-4 on 58k), so no fixed value suits both.

The input is assembled once and cached, so the grid costs only the LBFGS passes themselves.
"""

from __future__ import annotations

import logging
import time

from pipelines.core.errors import DataError
from pipelines.gbdt.split import row_unit
from pipelines.settings.gbdt import LrSettings

log = logging.getLogger("ctrflow")

_TUNE_SALT = 104729  # another hash than the trees/LR split's, so the holdout is a plain random slice


def logistic_regression(features_col: str, label: str, s: LrSettings, reg_param: float):
    from pyspark.ml.classification import LogisticRegression

    return LogisticRegression(
        featuresCol=features_col,
        labelCol=label,
        probabilityCol="lr_probability",
        rawPredictionCol="lr_raw",
        predictionCol="lr_prediction",
        regParam=reg_param,
        elasticNetParam=s.elastic_net_param,
        maxIter=s.max_iter,
        tol=s.tol,
        standardization=s.standardization,
    )


def fit_lr(df, features_col: str, label: str, s: LrSettings, hash_cols: list[str], seed: int):
    """(LogisticRegressionModel, facts) fitted on df, a DataFrame holding features_col, label and the
    hash_cols the tuning holdout is drawn by; facts say the regParam used and, for auto, the grid."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    # VectorAssembler names every slot in the column's ML metadata (4.7 MB of JSON for 100k one-hot slots
    # and 900 leaves); LR needs only the vectors, so the cached copy goes without it.
    data = df.select(
        label,
        F.col(features_col).alias(features_col, metadata={}),
        row_unit(hash_cols, seed + _TUNE_SALT).alias("_tune_u"),
    )
    data = data.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        facts: dict = {}
        reg = s.reg_param
        if reg == "auto":
            reg, facts = _tune(data, features_col, label, s)
        t0 = time.perf_counter()
        model = logistic_regression(features_col, label, s, float(reg)).fit(data)
        facts.update(reg_param=float(reg), fit_s=round(time.perf_counter() - t0, 1))
        return model, facts
    finally:
        data.unpersist()


def _tune(data, features_col: str, label: str, s: LrSettings) -> tuple[float, dict]:
    from pyspark.sql import functions as F

    from pipelines.eval.metrics import binary_metrics
    from pipelines.registry.scoring import as_probability

    held = F.col("_tune_u") < F.lit(s.tune_fraction)
    fit_rows, holdout = data.where(~held), data.where(held)
    if not s.reg_grid:
        raise DataError("gbdt.lr.reg_grid is empty: list the regParam values `auto` chooses from")
    t0 = time.perf_counter()
    grid: dict[float, dict] = {}
    # the held-out logloss is U-shaped in log(regParam), so the sweep stops at the first value worse than
    # the one before; it starts from the weakest penalty because large windows, where each fit is dear,
    # want weak ones (measured on 400k rows: 1e-4 best, 1e-3 worse: three fits instead of five)
    for reg in sorted(set(s.reg_grid)):
        model = logistic_regression(features_col, label, s, reg).fit(fit_rows)
        try:
            m = binary_metrics(as_probability(model.transform(holdout)), label_col=label)
        except DataError as e:
            raise DataError(f"gbdt.lr.tune_fraction {s.tune_fraction}: cannot score the held-out rows ({e})") from None
        grid[reg] = {"logloss": round(m.logloss, 6), "auc": round(m.auc, 5)}
        log.info("LR tuning: regParam %g: held-out logloss %.5f, AUC %.4f (%d rows)", reg, m.logloss, m.auc, m.rows)
        if len(grid) > 1 and m.logloss > list(grid.values())[-2]["logloss"]:
            break
    best = min(grid, key=lambda r: grid[r]["logloss"])
    return best, {
        "reg_auto": True,
        "reg_grid": {str(k): v for k, v in grid.items()},
        "tune_fraction": s.tune_fraction,
        "tune_s": round(time.perf_counter() - t0, 1),
    }
