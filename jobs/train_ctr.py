"""Train a deep CTR model (PyTorch, distributed) on the days before --ds, evaluate on --ds, report, register.

Reads feat.<ctr.pipeline> at a pinned Delta version (its live Parquet files come from the Delta log)
and its feature_map.json. The model is one of pipelines.ctr.models with its config
conf/base/models/<model>.yml (--variant test: the tiny variant; --param key=value overrides a key).
Training runs on ctr.num_workers workers with ctr.backend (horovod_spark, horovodrun, torch_distributor,
local), checkpointing every epoch (a rerun after a failure resumes) and stopping early on a holdout
slice of the training window (ctr.holdout_fraction; --ds is never read by training). The best epoch's
model is scored on --ds through Spark, evaluated (report with ROC, calibration and loss curves) and
registered under --model-name (default: the model's name; flavor torch); when that name has a champion
it is scored on the same day for the publish gate (pipelines.registry.candidates). A two_tower model also writes
out.two_tower_user_embeddings / out.two_tower_item_embeddings for the ds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.common import schema, storage, table_names, tables
from pipelines.core.errors import DataError
from pipelines.core.names import Name
from pipelines.core.timing import stage
from pipelines.ctr import data
from pipelines.ctr.models import FeatureSpec, load_config, model_names
from pipelines.ctr.models.base import plain_config
from pipelines.ctr.predict import score_with_model, tower_embeddings
from pipelines.ctr.train import MODEL_DIR, TrainSpec, launch
from pipelines.features import flow
from pipelines.features.trainset import open_split
from pipelines.registry.candidates import register_candidate
from pipelines.registry.store import Registry

log = logging.getLogger("ctrflow")


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    model: Name = field(metadata={"help": f"a model of the zoo: {', '.join(model_names())}"})
    variant: Name | None = field(default=None, metadata={"help": "a variant of the model's config, e.g. test"})
    param: list[str] = field(default_factory=list, metadata={"help": "model config overrides key=value"})
    model_name: Name | None = field(
        default=None,
        metadata={
            "help": "registry name, so two data sets or configs of one model can live side by side (default: --model)"
        },
    )


def _positive_rate(spark, feat: str, days: list[dt.date], version: int, label: str) -> float:
    """The training window's label mean (one aggregate): the models start by predicting it."""
    from pyspark.sql import functions as F

    row = flow.read_days(spark, feat, days, version).agg(F.avg(F.col(label).cast("double")).alias("p")).first()
    if row.p is None or not 0 < row.p < 1:
        raise DataError(
            f"{feat} ds {', '.join(map(str, days))}: label '{label}' has mean {row.p}; training a CTR "
            f"model needs clicks and non-clicks"
        )
    return float(row.p)


def run(spark, cfg: Config) -> dict:
    settings, s, model = cfg.settings, cfg.settings.ctr, cfg.model
    name = cfg.model_name or model  # the registry name
    # --set models.<model>.key=value, then --param (the job's own option) wins
    model_cfg = load_config(
        model, cfg.variant, env=cfg.conf.env, overrides=[*cfg.conf.named_overrides("models", model), *cfg.param]
    )
    split = open_split(
        spark,
        settings,
        s.pipeline,
        cfg.ds,
        s.train_days,
        s.min_train_days,
        "ctr.min_train_days",
        columns=lambda fm: FeatureSpec.from_feature_map(fm).columns(),
    )
    feat, fm, version, days = split.table, split.feature_map, split.version, split.days
    spec = FeatureSpec.from_feature_map(fm)
    with stage(f"planning reads of {feat} (Delta version {version}) from the Delta log"):
        train_plan = data.plan_days(spark, feat, days, version)
        data.plan_days(spark, feat, [cfg.ds], version)  # --ds must exist before hours of training, not after
    with stage(f"positive rate of {feat} on {len(days)} training day(s)"):
        base_rate = _positive_rate(spark, feat, days, version, fm.label)
    # a rerun with the same inputs and config resumes from the same checkpoint directory
    key = json.dumps(
        [name, model, plain_config(model_cfg), schema.to_plain(s), fm.version, version, [d.isoformat() for d in days]],
        sort_keys=True,
        default=str,
    )
    run_id = f"{cfg.ds.isoformat()}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
    ckpt = f"{s.checkpoint_dir or settings.project.path('ctr', 'checkpoints')}/{name}/{run_id}"
    out_dir = settings.project.path("ctr", "runs", name, run_id)
    train_spec = TrainSpec.on_window(
        train_plan,
        s,
        model=model,
        model_config=model_cfg,
        features=spec,
        checkpoint_dir=ckpt,
        out_dir=out_dir,
        base_rate=base_rate,
    )
    workers = 1 if s.backend == "local" else s.num_workers
    with stage(
        f"training {model} with {s.backend} on {workers} worker(s) ({train_plan.rows} rows, "
        f"{len(train_plan.pieces)} row groups)"
    ):
        result = launch(train_spec, spark)

    reg = Registry.from_settings(settings)
    staged = reg.stage(name)
    storage.copy_tree(f"{out_dir}/{MODEL_DIR}", f"{staged}/model")
    val = split.read(spark, [cfg.ds])
    scored = {name: score_with_model(val, f"{staged}/model").select(fm.label, "probability")}
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
        history={name: result["history"]},
        kind=model,
        flavor="torch",
        inputs=split.inputs,
        config={"model": plain_config(model_cfg), "ctr": schema.to_plain(s)},
        context={
            "model": model,
            "train days": ", ".join(map(str, days)),
            "train rows": f"{result['train_rows']} (+ {result['holdout_rows']} held out for early stopping)",
            "positive rate of the training window": round(base_rate, 5),
            "batch per worker": f"{result['batch_size']} ({result['steps_per_epoch']} steps per epoch)",
            "validation day": cfg.ds,
            "feature table": split.described,
            "backend": f"{s.backend} x {s.num_workers}",
            "best epoch": f"{result['best_epoch']} (holdout {s.early_stopping_metric})",
        },
        extra={
            "history": result["history"],
            "best_epoch": result["best_epoch"],
            "stopped_early": result["stopped_early"],
            "train_days": [d.isoformat() for d in days],
            "train_rows": result["train_rows"],
            "holdout_rows": result["holdout_rows"],
            "base_rate": base_rate,
            "batch_size": result["batch_size"],
            "steps_per_epoch": result["steps_per_epoch"],
            "backend": s.backend,
            "workers": result["workers"],
            "variant": cfg.variant,
        },
    )
    mv = done.mv
    out = {"model": model, "name": name, **done.result(), "epochs_run": result["epochs_run"]}
    if model == "two_tower" and s.export_embeddings:
        out["embeddings"] = export_embeddings(spark, settings, mv, val, cfg.ds)
    try:
        storage.remove_tree(ckpt)  # registered: a rerun trains afresh
    except OSError as e:  # the version is registered: a retry for this would register it twice
        log.warning("could not remove the checkpoint %s: %s", ckpt, e)
    return out


def export_embeddings(spark, settings, mv, day, ds: dt.date) -> dict:
    """out.<model>_user_embeddings and out.<model>_item_embeddings (id, vector, ds) for the day's ids."""
    written = {}
    model_dir = f"{mv.artifacts}/model"
    for tower in ("user", "item"):
        table = table_names.embeddings(settings, mv.name, tower)
        id_field, key = mv.config["model"][f"{tower}_id_field"], mv.config["model"].get(f"{tower}_key")
        with stage(f"writing {tower} embeddings of {mv.name} {mv.version} into {table}"):
            w = tables.write_delta_partition(tower_embeddings(day, model_dir, tower, id_field, key), table, ds)
        written[table] = {"rows": w.rows, "delta_version": w.version}
    return written


if __name__ == "__main__":
    raise SystemExit(main())
