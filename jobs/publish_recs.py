"""Publish a day's checked recommendations: out.recs_ranked (ds, --index) replaces out.recs (ds, index) in
one Delta commit, only when check_recs passed that day's rows (out.recs_quality). Readers of out.recs see
yesterday's lists or today's, never half, never unchecked. See docs/recs.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.common import table_names, tables
from pipelines.core.errors import DataError
from pipelines.core.names import Name, quote_ident, sql_literal
from pipelines.core.timing import stage


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    index: Name | None = field(default=None, metadata={"help": "the index whose recommendations (default recs.index)"})


def run(spark, cfg: Config) -> dict:
    r = cfg.settings.recs
    index = cfg.index or r.index
    ranked_t, quality_t = table_names.ranked(cfg.settings), table_names.recs_quality(cfg.settings)
    of_index = f"ds = {sql_literal(cfg.ds.isoformat())} AND {quote_ident('index')} = {sql_literal(index)}"
    checked = (
        spark.table(quality_t).where(of_index).select("passed", "model", "model_version").collect()
        if tables.table_exists(spark, quality_t)
        else []
    )
    if not checked or not checked[0]["passed"]:
        why = "no check of that day" if not checked else "its check failed"
        raise DataError(f"recommendations of {index} for {cfg.ds} are not published: {why} (run check_recs)")
    ranked = tables.read_day(spark, ranked_t, cfg.ds, "to publish", " (run rank first)", index=index)
    by = {
        f"{row['model']} {row['model_version']}" for row in ranked.select("model", "model_version").distinct().collect()
    }
    was = f"{checked[0]['model']} {checked[0]['model_version']}"
    if by != {was}:
        raise DataError(
            f"{ranked_t} ds={cfg.ds} index={index} is now ranked by {', '.join(sorted(by))}; check_recs checked "
            f"{was}'s lists: run check_recs again"
        )
    out = table_names.recs(cfg.settings)
    with stage(f"publishing {ranked_t} ds={cfg.ds} index={index} into {out}"):
        written = tables.write_delta_partition(ranked, out, cfg.ds, subpartition={"index": index})
    return {"index": index, "table": out, "rows": written.rows, "delta_version": written.version}


if __name__ == "__main__":
    raise SystemExit(main())
