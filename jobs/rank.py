"""Rank a day's candidate feature rows with a registered CTR model into out.recs_ranked.

feat.<recs.pipeline>_candidates (ds, --index), from candidate_features, is scored by --ranker (default
recs.ranker; the champion as of ds unless --version: GBDT+LR or any deep model); each user's --k best by the
model's probability (ties: the better retrieval rank) go to out.recs_ranked (ds, index) with both scores,
the retrieval rank, and the model and index versions. check_recs judges the day, publish_recs copies it
to out.recs. See docs/recs.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.common import table_names, tables
from pipelines.core.names import Name
from pipelines.core.timing import stage
from pipelines.recs.rank import rank
from pipelines.registry.store import Registry


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    ranker: Name | None = field(default=None, metadata={"help": "registry name of the CTR model (default recs.ranker)"})
    version: str | None = field(default=None, metadata={"help": "a model version (default: the champion as of --ds)"})
    index: Name | None = field(default=None, metadata={"help": "the index whose candidates (default recs.index)"})
    k: int | None = field(default=None, metadata={"help": "recommendations per user (default recs.k)"})

    def validate(self) -> None:
        if self.k is not None and self.k < 1:
            raise ValueError(f"--k must be positive, got {self.k}")


def run(spark, cfg: Config) -> dict:
    r = cfg.settings.recs
    index, k = cfg.index or r.index, cfg.k or r.k
    source = table_names.candidate_features(cfg.settings, r.pipeline)
    rows = tables.read_day(spark, source, cfg.ds, "to rank", " (run candidate_features first)", index=index)
    reg = Registry.from_settings(cfg.settings)
    mv = reg.for_day(cfg.ranker or r.ranker, cfg.ds, cfg.version)
    reg.verify(mv)
    out = table_names.ranked(cfg.settings)
    with stage(f"ranking {source} ds={cfg.ds} index={index} with {mv.name} {mv.version}: top {k} into {out}"):
        ranked = rank(spark, mv, rows, r.user_id, r.item_id, k)
        written = tables.write_delta_partition(ranked, out, cfg.ds, subpartition={"index": index})
    return {
        "ranker": mv.name,
        "ranker_version": mv.version,
        "index": index,
        "k": k,
        "table": out,
        "rows": written.rows,
        "delta_version": written.version,
    }


if __name__ == "__main__":
    raise SystemExit(main())
