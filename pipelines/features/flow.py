"""The features job's steps: read the source window, fit or load, transform a day, record stats and drift."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from pipelines.common import storage, table_names, tables
from pipelines.core.errors import ConfigError, DataError
from pipelines.core.timing import stage
from pipelines.features import artifacts
from pipelines.features.builder import PipelineSpec, Plan, load_spec, validate
from pipelines.features.feature_map import FeatureMap, build_feature_map
from pipelines.features.fitting import fit_pipeline
from pipelines.features.stage_types import CATEGORICAL_KIND, MULTI_VALUED_KIND
from pipelines.features.stats import (
    FeatureDrift,
    FeatureStats,
    compare,
    compute_stats,
    numeric_edges,
    read_day_stats,
    write_day_stats,
)

log = logging.getLogger("ctrflow.features")

_CAST = {CATEGORICAL_KIND: "int", MULTI_VALUED_KIND: "array<int>"}


def source_table(settings, plan_or_spec) -> str:
    spec = plan_or_spec.spec if isinstance(plan_or_spec, Plan) else plan_or_spec
    return table_names.staged(settings, spec.source)


def feat_table(settings, pipeline: str) -> str:
    return table_names.features(settings, pipeline)


def stats_table(settings, pipeline: str) -> str:
    return table_names.feature_stats(settings, pipeline)


def load_plan(
    spark, settings, pipeline: str, env: str, overrides: Sequence[str] = (), source: str | None = None
) -> Plan:
    """Load conf/<env>/features/<pipeline>.yml (with `--set features.<pipeline>.*` overrides, `key=value`
    inside the document) and validate it against the source table's schema. `source` (the job's
    --source) replaces the file's `source:` and must be declared in sources.yml."""
    spec = load_spec(pipeline, env=env, overrides=overrides)
    if source is not None:
        declared = settings.sources.sources
        if source not in declared:
            raise ConfigError(
                f"--source {source}: not a source declared in sources.yml "
                f"(declared: {', '.join(sorted(declared)) or 'none'})"
            )
        spec = dataclasses.replace(spec, source=source)
    table = source_table(settings, spec)
    if not tables.table_exists(spark, table):
        raise DataError(
            f"source table {table} of pipeline '{pipeline}' does not exist (run `ingest --source {spec.source}` first)"
        )
    return validate(spec, spark.table(table).schema, name=pipeline)


def read_days(spark, qualified: str, days: list[dt.date], version: int | None):
    """Rows of the given ds partitions, read at a pinned Delta version (what the artifact records)."""
    from pyspark.sql import functions as F

    reader = spark.read
    if version is not None:
        reader = reader.format("delta").option("versionAsOf", version)
    return reader.table(qualified).where(F.col("ds").isin([d.isoformat() for d in days]))


def training_window(ds: dt.date, days: int) -> list[dt.date]:
    return [ds - dt.timedelta(days=i) for i in range(days - 1, -1, -1)]


def feature_fields(fm: FeatureMap) -> list[tuple[str, str]]:
    return [(f.name, f.kind) for f in fm.fields]


@dataclass
class Fitted:
    version: str
    model: object  # pyspark.ml.PipelineModel
    feature_map: FeatureMap
    metadata: dict
    train_stats: list[FeatureStats] | None = None


def _check_days(spark, df, qualified: str, days: list[dt.date]) -> dict[str, int]:
    counts = {r["ds"]: r["count"] for r in df.groupBy("ds").count().collect()}
    missing = [d.isoformat() for d in days if not counts.get(d.isoformat())]
    if missing:
        raise DataError(f"{qualified} has no rows for ds {', '.join(missing)} (training window {days[0]}..{days[-1]})")
    return counts


def fit(spark, settings, plan: Plan, ds: dt.date, run_config_hash: str) -> tuple[Fitted, object]:
    """Fit the pipeline on the training window ending at ds; save it as a new version (not yet current)."""
    source = source_table(settings, plan)
    days = training_window(ds, plan.spec.train_days)
    src_version = tables.delta_version(spark, source)
    train = read_days(spark, source, days, src_version)
    with stage(f"counting the training window {days[0]}..{days[-1]} of {source}"):
        counts = _check_days(spark, train, source, days)
    with stage(f"fitting {len(plan.stages)} stages on {sum(counts.values()):,} rows"):
        model = fit_pipeline(plan.build().getStages(), train)
    created = dt.datetime.now(dt.UTC)
    version = f"{ds:%Y%m%d}-{created:%Y%m%dT%H%M%S}-{plan.spec.config_hash[:6]}"
    vdir = artifacts.version_dir(settings, plan.name, version)
    fm = build_feature_map(plan, model, version, feat_table(settings, plan.name))
    metadata = {
        "pipeline": plan.name,
        "version": version,
        "ds": ds.isoformat(),  # the day it was fitted for: version_as_of chooses by it
        "created": created.isoformat(),
        "source": plan.spec.source,
        "input_table": source,
        "input_delta_version": src_version,
        "window": [d.isoformat() for d in days],
        "rows_per_day": counts,
        "pipeline_hash": plan.spec.config_hash,
        "run_config_hash": run_config_hash,
        "pipeline_spec": _plain(plan.spec),
    }
    with stage(f"saving the fitted pipeline to {vdir}"):
        model.write().overwrite().save(f"{vdir}/model")
        artifacts.write_json(f"{vdir}/metadata.json", metadata)
        storage.write_text(f"{vdir}/feature_map.json", fm.to_json())
    return Fitted(version, model, fm, metadata), train


def _plain(spec: PipelineSpec) -> dict:
    from pipelines.common import schema

    return schema.to_plain(spec)


def record_train_stats(spark, settings, plan: Plan, fitted: Fitted, transformed) -> None:
    """Training-window statistics (the drift baseline), which publish the version; CURRENT moves to it
    unless a version was fitted for a later day (a fit of an older day, a backfill, leaves that one current)."""
    from pyspark import StorageLevel

    fields = feature_fields(fitted.feature_map)
    with stage("training-window statistics"):
        baseline = transformed.persist(StorageLevel.MEMORY_AND_DISK)  # three passes: one transform
        try:
            edges = numeric_edges(baseline, fields)
            fitted.train_stats = compute_stats(baseline, fields, edges)
        finally:
            baseline.unpersist()
    base = artifacts.pipeline_dir(settings, plan.name)
    vdir = artifacts.version_dir(settings, plan.name, fitted.version)
    artifacts.write_json(f"{vdir}/train_stats.json", artifacts.stats_to_json(fitted.train_stats))
    newest = artifacts.newest_version(settings, plan.name)
    if newest != fitted.version:
        log.info("%s %s is not current: %s was fitted for a later day", plan.name, fitted.version, newest)
        return
    storage.write_text(f"{base}/feature_map.json", fitted.feature_map.to_json())
    storage.write_text(f"{base}/CURRENT", fitted.version)  # last: the version is now current


def load_as_of(spark, settings, plan: Plan, ds: dt.date) -> Fitted:
    """The version that was current on ds (artifacts.version_as_of), checked against the plan's source
    and config."""
    from pyspark.ml import PipelineModel

    version = artifacts.version_as_of(settings, plan.name, ds)
    vdir = artifacts.version_dir(settings, plan.name, version)
    metadata = artifacts.read_json(f"{vdir}/metadata.json")
    # another source's day through this version's vocabularies and quantiles would give features
    # silently fitted on other data (even with the same schema), in the same feat.<pipeline> table
    fitted_source = metadata.get("source") or metadata["input_table"].split(".", 1)[-1]
    if fitted_source != plan.spec.source:
        raise ConfigError(
            f"pipeline '{plan.name}' version {version} was fitted on source '{fitted_source}', "
            f"not '{plan.spec.source}': run with --fit to fit it on '{plan.spec.source}' "
            f"(or use --source {fitted_source})"
        )
    if metadata["pipeline_hash"] != plan.spec.config_hash:
        raise ConfigError(
            f"conf features/{plan.name}.yml changed since version {version} was fitted "
            f"(hash {metadata['pipeline_hash']} -> {plan.spec.config_hash}): run with --fit"
        )
    model = PipelineModel.load(f"{vdir}/model")
    fm = FeatureMap.from_json(artifacts.read_text(artifacts.feature_map_path(settings, plan.name, version)))
    return Fitted(version, model, fm, metadata, artifacts.train_stats(settings, plan.name, version))


def select_features(df, fm: FeatureMap, keep: Sequence[str] = ()):
    """label + the kept raw columns, unchanged + one plain column per feature (ints for indices,
    doubles for numbers)."""
    from pyspark.sql import functions as F

    cols = [F.col(f"`{fm.label}`").cast("int").alias(fm.label)]
    cols += [F.col(f"`{c}`") for c in keep]
    cols += [F.col(f"`{f.name}`").cast(_CAST.get(f.kind, "double")).alias(f.name) for f in fm.fields]
    return df.select(*cols)


def baseline_features(fitted: Fitted, train):
    """The training window's features as a later day would get them (the drift baseline).

    Out-of-fold target encodings are for fitting models only: a later day is encoded with the full
    training statistics, so the baseline is too (the day column is masked, so no row is out-of-fold).
    """
    from pyspark.sql import functions as F

    masked = train.withColumn("ds", F.lit("baseline"))
    return select_features(fitted.model.transform(masked), fitted.feature_map)


def transform_day(spark, settings, plan: Plan, fitted: Fitted, ds: dt.date, train=None) -> dict:
    """Transform stg ds with the fitted pipeline into feat.<pipeline> ds, then its stats and drift."""
    source = source_table(settings, plan)
    src_version = tables.delta_version(spark, source)
    day = read_days(spark, source, [ds], src_version)
    if day.limit(1).count() == 0:
        raise DataError(f"{source} has no rows for ds {ds}")
    feat = feat_table(settings, plan.name)
    with stage(f"transforming {source} ds={ds} into {feat}"):
        written = tables.write_delta_partition(
            select_features(fitted.model.transform(day), fitted.feature_map, plan.spec.keep), feat, ds
        )
    stored = spark.table(feat).where(f"ds = '{ds.isoformat()}'")
    if fitted.train_stats is None:  # just fitted: the baseline is the training window
        record_train_stats(spark, settings, plan, fitted, baseline_features(fitted, train))
    fields = feature_fields(fitted.feature_map)
    with stage(f"statistics of {feat} ds={ds}"):
        edges = {s.feature: s.edges for s in fitted.train_stats}
        day_stats = compute_stats(stored, fields, edges)
        drift = compare(fitted.train_stats, day_stats, plan.spec.drift_threshold)
        write_day_stats(spark, stats_table(settings, plan.name), ds, day_stats, drift, fitted.version)
    # a day of the training window is no drift (and its target encodings are out-of-fold by design)
    in_window = ds.isoformat() in fitted.metadata["window"]
    moved = [] if in_window else [d for d in drift if d.moved]
    for d in moved:
        log.warning(
            "feature %s moved: PSI %.3f vs the training window (null rate %.3f -> %.3f)",
            d.feature,
            d.psi,
            d.null_rate_train,
            d.null_rate_day,
        )
    return {
        "table": feat,
        "feat_version": written.version,
        "rows": written.rows,
        "model_version": fitted.version,
        "input_table": source,
        "input_delta_version": src_version,
        "feature_map": artifacts.feature_map_path(settings, plan.name, fitted.version),
        "features": len(fitted.feature_map.fields),
        "stats_table": stats_table(settings, plan.name),
        "moved_features": [asdict(d) for d in moved],
    }


def carried_columns(spark, settings, pipeline: str, version: str) -> tuple[str, list[str]] | None:
    """(label, kept raw columns) of feat.<pipeline> as written by a fitted version (its pipeline spec);
    None when that version's metadata is not there."""
    meta = artifacts.read_json(f"{artifacts.version_dir(settings, pipeline, version)}/metadata.json")
    if meta is None:
        return None
    spec = meta.get("pipeline_spec", {})
    return spec.get("label", "label"), list(spec.get("keep") or [])


def drift(spark, settings, pipeline: str, ds: dt.date, threshold: float = 0.2) -> list[FeatureDrift]:
    """PSI of every feature of feat.<pipeline> on ds against the training window of the model that wrote it.

    Reads the stored stats (feat.<pipeline>_stats, written by the features job) and the model version's
    train_stats.json; features with PSI above `threshold` have `moved` set. Largest PSI first.
    """
    table = stats_table(settings, pipeline)
    if not tables.table_exists(spark, table):
        raise DataError(f"{table} does not exist: run the features job for '{pipeline}' first")
    version, day_stats = read_day_stats(spark, table, ds)
    if version is None:
        raise DataError(f"{table} has no statistics for ds {ds}")
    return compare(artifacts.train_stats(settings, pipeline, version), day_stats, threshold)
