"""Every table ctrflow names, derived in one place: the layer's database (project.databases) and the rule
for the table's name. Jobs, the library, DAG defaults and tests ask here instead of spelling `stg.x`.

    raw        raw.<synth.table>, raw.<synth.table>_ceiling            (generate)
    stg        stg.<source>, stg.<source>_quarantine, stg.<sources.catalog_table>   (ingest)
    feat       feat.<pipeline>, feat.<pipeline>_stats                 (features)
               feat.<pipeline>_candidates                             (candidate_features)
    out        out.scores, out.candidates, out.recs, out.<model>_<tower>_embeddings (score, retrieve, train_ctr)
               out.recs_ranked, out.recs_quality                      (rank, check_recs)
"""

from __future__ import annotations

from pipelines.common.tables import table
from pipelines.settings import Settings


def raw(settings: Settings, name: str) -> str:
    return table(settings, "raw", name)


def ceiling(settings: Settings, raw_name: str) -> str:
    """The planted model's metrics of each generated day of raw.<raw_name>."""
    return table(settings, "raw", f"{raw_name}_ceiling")


def staged(settings: Settings, source: str) -> str:
    return table(settings, "stg", source)


def quarantine(settings: Settings, source: str) -> str:
    return table(settings, "stg", f"{source}_quarantine")


def ingest_catalog(settings: Settings) -> str:
    return table(settings, "stg", settings.sources.catalog_table)


def features(settings: Settings, pipeline: str) -> str:
    return table(settings, "feat", pipeline)


def feature_stats(settings: Settings, pipeline: str) -> str:
    return table(settings, "feat", f"{pipeline}_stats")


def scores(settings: Settings) -> str:
    return table(settings, "out", "scores")


def candidates(settings: Settings) -> str:
    return table(settings, "out", "candidates")


def recs(settings: Settings) -> str:
    return table(settings, "out", "recs")


def embeddings(settings: Settings, model: str, tower: str) -> str:
    """What train_ctr writes for a two-tower model: out.<model>_item_embeddings / _user_embeddings."""
    return table(settings, "out", f"{model}_{tower}_embeddings")


def candidate_features(settings: Settings, pipeline: str) -> str:
    """What candidate_features writes: the retrieved (user, item) pairs as feat.<pipeline> rows."""
    return table(settings, "feat", f"{pipeline}_candidates")


def ranked(settings: Settings) -> str:
    """What rank writes and check_recs checks before publish_recs copies a day to out.recs."""
    return table(settings, "out", "recs_ranked")


def recs_quality(settings: Settings) -> str:
    return table(settings, "out", "recs_quality")
