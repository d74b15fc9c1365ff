"""Retrieved (user, item) candidates as the raw rows a feature pipeline reads.

A candidate pair never had an impression, so its row is assembled: the user side from the user's latest
row of the source table as of the day, the item side from the item's, both within `lookback_days`. Each
side is one row per id (a partial aggregation: max of the struct (ds, columns...), so the latest day
wins and ties break the same way on every run), then the candidates join them on Spark. The candidate
side may be skewed (one user with many candidates); the profile side is one row per id, so no key
multiplies rows, and AQE splits a skewed partition of the candidate side (spark.sql.adaptive.skewJoin).
The fitted pipeline then encodes these rows exactly as it encodes the day's impressions: the ranker sees
the encoding it was trained on.
"""

from __future__ import annotations

import datetime as dt

from pipelines.core.errors import ConfigError, DataError
from pipelines.core.names import quote_ident


def latest_rows(source, key: str, columns: list[str], ds: dt.date, lookback_days: int):
    """One row per `key` with `columns` from its latest row in the days (ds - lookback_days, ds]."""
    from pyspark.sql import functions as F

    first = (ds - dt.timedelta(days=lookback_days - 1)).isoformat()
    window = source.where((F.col("ds") >= first) & (F.col("ds") <= ds.isoformat()))
    latest = F.max(F.struct(F.col("ds").alias("_ds"), *[F.col(quote_ident(c)) for c in columns])).alias("_row")
    return window.groupBy(quote_ident(key)).agg(latest).select(key, *[f"_row.{quote_ident(c)}" for c in columns])


def check_columns(source_name: str, schema_columns: list[str], settings) -> None:
    """The ids and every user / item column exist in the source (one line naming the missing ones)."""
    r = settings.recs
    wanted = [r.user_id, r.item_id, *r.user_columns, *r.item_columns]
    missing = [c for c in wanted if c not in schema_columns]
    if missing:
        raise ConfigError(
            f"recs: {', '.join(missing)} not in {source_name} (columns: {', '.join(schema_columns)}); "
            f"fix recs.user_columns / item_columns / user_id / item_id in recs.yml"
        )


def assemble(candidates, source, settings, ds: dt.date, label: str, label_type: str):
    """Raw rows for the candidates (query_id, item_id, rank, score): the ids, both sides' columns, a null
    label and ds, plus retrieval_rank and retrieval_score. Candidates whose user or item has no row in the
    lookback window are dropped; `missing_counts` says how many."""
    from pyspark.sql import functions as F

    r = settings.recs
    users = latest_rows(source, r.user_id, r.user_columns, ds, r.lookback_days)
    items = latest_rows(source, r.item_id, r.item_columns, ds, r.lookback_days)
    pairs = candidates.select(
        F.col("query_id").alias(r.user_id),
        F.col("item_id").alias(r.item_id),
        F.col("rank").alias("retrieval_rank"),
        F.col("score").alias("retrieval_score"),
    )
    return (
        pairs.join(users, r.user_id, "inner")
        .join(items, r.item_id, "inner")
        .withColumn(label, F.lit(None).cast(label_type))
        .withColumn("ds", F.lit(ds.isoformat()))
    )


def check_id_types(candidates, source, settings, candidates_name: str, source_name: str) -> None:
    """The candidates' ids are the source's ids (same type): an index's ids that are the pipeline's indices
    rather than the raw ids would join nothing."""
    r = settings.recs
    have = {f.name: f.dataType.simpleString() for f in source.schema.fields}
    mine = {f.name: f.dataType.simpleString() for f in candidates.schema.fields}
    for cand, col in (("query_id", r.user_id), ("item_id", r.item_id)):
        if mine[cand] != have[col]:
            raise DataError(
                f"{candidates_name}.{cand} is {mine[cand]} but {source_name}.{col} is {have[col]}: the index and the "
                f"queries must be keyed by the raw ids (two-tower user_key / item_key)"
            )
