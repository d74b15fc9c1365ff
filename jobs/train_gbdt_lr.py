"""Train GBDT leaf encoding + LR on the days before --ds, validate on --ds, report and register it.

Reads feat.<gbdt.pipeline> (the features job's output) and its feature_map.json. The window is up to
gbdt.train_days days before --ds; GBDTLeafEncoder splits it (gbdt.split) into the rows the trees
(xgboost.spark, or LightGBM per gbdt.backend) are grown on and the disjoint rows gbdt_lr's LR is fitted
on. The two baselines of the paper: LR on the features alone (the whole window) and the GBDT alone.
All three are evaluated on --ds (AUC, logloss, NE, calibration, GAUC when gbdt.group_col is set)
into a report (JSON, markdown, ROC and calibration PNGs) kept with the model. The GBDT+LR model is
registered as a new version of gbdt.model_name with its config, input table versions and metrics; when
the name has a champion, the champion is scored on the same day so that `publish` can compare them
(pipelines.registry.candidates, shared with train_ctr).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.common import schema
from pipelines.core.errors import DataError
from pipelines.core.names import Name
from pipelines.core.timing import stage
from pipelines.features.trainset import open_split
from pipelines.gbdt.train import MODELS, build_models, report_context
from pipelines.registry.candidates import register_candidate
from pipelines.registry.scoring import as_probability
from pipelines.registry.store import Registry

log = logging.getLogger("ctrflow")


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    model_name: Name | None = field(default=None, metadata={"help": "registry name (default: gbdt.model_name)"})


def run(spark, cfg: Config) -> dict:
    from pyspark import StorageLevel

    settings = cfg.settings
    s = settings.gbdt
    name = cfg.model_name or s.model_name
    split = open_split(
        spark,
        settings,
        s.pipeline,
        cfg.ds,
        s.train_days,
        s.min_train_days,
        "gbdt.min_train_days",
        columns=lambda fm: [fm.label, *(f.name for f in fm.fields)],
    )
    fm, feat = split.feature_map, split.table
    if s.group_col and s.group_col not in spark.table(feat).columns:
        raise DataError(f"gbdt.group_col '{s.group_col}' is not a column of {feat}")
    train = split.read(spark).persist(StorageLevel.MEMORY_AND_DISK)
    val = split.read(spark, [cfg.ds])
    try:
        n_train = train.count()
        models, facts = build_models(train, fm, s)
    finally:
        train.unpersist()

    reg = Registry.from_settings(settings)
    staged = reg.stage(name)
    with stage(f"saving the models into the registry ({name})"):
        models["gbdt_lr"].save(f"{staged}/model")
        for baseline in ("lr", "gbdt"):
            models[baseline].save(f"{staged}/baselines/{baseline}")
    keep = [fm.label, *([s.group_col] if s.group_col else [])]
    scored = {m: as_probability(models[m].transform(val)).select(*keep, "probability") for m in MODELS}
    days = [d.isoformat() for d in split.days]
    done = register_candidate(
        spark,
        reg,
        name,
        cfg.ds,
        scored,
        val,
        staged=staged,
        table=feat,
        label=fm.label,
        group_col=s.group_col,
        persist=True,
        kind="gbdt_lr",
        flavor="spark_pipeline",
        config=schema.to_plain(s),
        inputs=split.inputs,
        extra={"train_days": days, "train_rows": n_train, **facts},
        context={
            "train days": ", ".join(days),
            "train rows": n_train,
            "validation day": cfg.ds,
            "feature table": split.described,
            "backend": s.backend,
            **report_context(facts),
        },
    )
    for k, v in done.summary.items():
        log.info("%-16s AUC %.4f  logloss %.4f  NE %.4f  calibration %.3f", k, *v.values())
    return {"model": name, **done.result()}


if __name__ == "__main__":
    raise SystemExit(main())
