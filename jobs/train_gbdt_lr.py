"""Train GBDT leaf encoding + LR on the days before --ds, validate on --ds, report and register it.

Reads feat.<gbdt.pipeline> (the features job's output) and its feature_map.json. The window is up to
gbdt.train_days days before --ds; GBDTLeafEncoder splits it (gbdt.split) into the rows the trees
(xgboost.spark, or LightGBM per gbdt.backend) are grown on and the disjoint rows gbdt_lr's LR is fitted
on. The two baselines of the paper: LR on the features alone (the whole window) and the GBDT alone.
All three are evaluated on --ds (AUC, logloss, NE, calibration, GAUC when gbdt.group_col is set)
into a report (JSON, markdown, ROC and calibration PNGs) kept with the model. The GBDT+LR model is
registered as a new version of gbdt.model_name with its config, input table versions and metrics; when
the name has a champion, the champion is scored on the same day so that `publish` can compare them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from jobs._harness import JobConfig, main
from pipelines.common import schema, tables
from pipelines.common.errors import DataError
from pipelines.common.names import Name
from pipelines.common.timing import stage
from pipelines.eval.report import evaluate_and_report
from pipelines.features import flow
from pipelines.features.trainset import load_feature_map, training_days
from pipelines.gbdt.train import MODELS, build_models, report_context
from pipelines.registry.scoring import as_probability, score
from pipelines.registry.store import Registry

log = logging.getLogger("ctrflow")


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    model_name: Name | None = field(default=None, metadata={"help": "registry name (default: gbdt.model_name)"})


def run(spark, cfg: Config) -> dict:
    from pyspark import StorageLevel

    s, settings = cfg.settings.gbdt, cfg.settings
    name = cfg.model_name or s.model_name
    feat = flow.feat_table(settings, s.pipeline)
    if not tables.table_exists(spark, feat):
        raise DataError(f"feature table {feat} does not exist: run `features --pipeline {s.pipeline}` first")
    fm = load_feature_map(spark, settings, s.pipeline)
    missing = [c for c in [fm.label, *(f.name for f in fm.fields)] if c not in spark.table(feat).columns]
    if missing:
        raise DataError(f"{feat} lacks columns {missing} of its feature map version {fm.version}: "
                        f"rerun the features job for the days used")
    if s.group_col and s.group_col not in spark.table(feat).columns:
        raise DataError(f"gbdt.group_col '{s.group_col}' is not a column of {feat}")
    version = tables.delta_version(spark, feat)
    days = training_days(spark, feat, version, cfg.ds, s.train_days, s.min_train_days,
                         "gbdt.min_train_days")
    train = flow.read_days(spark, feat, days, version).persist(StorageLevel.MEMORY_AND_DISK)
    val = flow.read_days(spark, feat, [cfg.ds], version)
    try:
        n_train = train.count()
        models, facts = build_models(train, fm, s)
    finally:
        train.unpersist()

    reg = Registry.from_settings(settings)
    staged = reg.stage(name)
    keep = [fm.label, *([s.group_col] if s.group_col else [])]
    scored = {}
    for model_name in MODELS:
        scored[model_name] = (as_probability(models[model_name].transform(val)).select(*keep, "probability")
                              .persist(StorageLevel.MEMORY_AND_DISK))
    champion = reg.champion(name)
    if champion is not None:
        scored[f"champion {champion.version}"] = (score(spark, champion, val).select(*keep, "probability")
                                                  .persist(StorageLevel.MEMORY_AND_DISK))
    try:
        with stage(f"evaluating {len(scored)} models on {feat} ds={cfg.ds}"):
            results = evaluate_and_report(
                scored, f"{staged}/report", f"{name} on {cfg.ds}", label_col=fm.label, group_col=s.group_col,
                context={"train days": ", ".join(map(str, days)), "train rows": n_train, "validation day": cfg.ds,
                         "feature table": f"{feat} (Delta version {version})", "backend": s.backend,
                         **report_context(facts)},
                gate=settings.registry.gate)
    finally:
        for df in scored.values():
            df.unpersist()
    with stage(f"saving the models into the registry ({name})"):
        models["gbdt_lr"].save(f"{staged}/model")
        for baseline in ("lr", "gbdt"):
            models[baseline].save(f"{staged}/baselines/{baseline}")
    extra = {"baselines": {k: results[k] for k in ("lr", "gbdt")}, "train_days": [d.isoformat() for d in days],
             "train_rows": n_train, **facts}
    if champion is not None:
        extra["champion_eval"] = {"version": champion.version, "metrics": results[f"champion {champion.version}"]}
    mv = reg.register(name, staged=staged, kind="gbdt_lr", flavor="spark_pipeline", eval_ds=cfg.ds.isoformat(),
                      metrics=results["gbdt_lr"], config=schema.to_plain(s),
                      inputs={feat: version, "feature_pipeline_version": fm.version}, extra=extra)
    summary = {k: {m: round(v[m], 5) for m in ("auc", "logloss", "ne", "calibration")} for k, v in results.items()}
    for k, v in summary.items():
        log.info("%-16s AUC %.4f  logloss %.4f  NE %.4f  calibration %.3f", k, *v.values())
    return {"model": name, "version": mv.version, "uri": mv.uri, "report": f"{mv.artifacts}/report/report.md",
            "eval_ds": cfg.ds.isoformat(), "train_days": extra["train_days"], "metrics": summary}


if __name__ == "__main__":
    raise SystemExit(main())
