"""Debug mode: run a pipeline stage by stage on a sample and show what each stage wrote.

Per stage: the schema of its output columns, a few rows (its inputs and outputs) and simple
statistics (null rate, distinct values; for categorical outputs the bucket occupancy: how many
indices are used and the share of rows on the reserved missing/unknown ones). Nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.features.builder import Plan
from pipelines.features.stage_types import CATEGORICAL_KIND, NUMERIC_KIND


def _stage_stats(df, kinds: dict[str, str], rows: int) -> dict[str, dict]:
    """Null rate and distinct values of every new column (+ occupancy or range), in one aggregation."""
    from pyspark.sql import functions as F

    aggs = []
    for i, (name, kind) in enumerate(kinds.items()):
        c = F.col(f"`{name}`")
        aggs += [F.sum(c.isNull().cast("long")).alias(f"{i}_nulls"), F.approx_count_distinct(c).alias(f"{i}_distinct")]
        if kind == NUMERIC_KIND:
            aggs += [F.min(c).alias(f"{i}_min"), F.avg(c).alias(f"{i}_mean"), F.max(c).alias(f"{i}_max")]
        if kind == CATEGORICAL_KIND:
            aggs += [
                F.avg((c == 0).cast("double")).alias(f"{i}_share_index0"),
                F.avg((c == 1).cast("double")).alias(f"{i}_share_index1"),
                F.max(c).alias(f"{i}_max_index"),
            ]
    r = df.agg(*aggs).first().asDict() if aggs else {}
    out: dict[str, dict] = {}
    for i, name in enumerate(kinds):
        vals = {k.split("_", 1)[1]: v for k, v in r.items() if k.split("_", 1)[0] == str(i)}
        vals["null_rate"] = (vals.pop("nulls") or 0) / rows if rows else 0.0
        out[name] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in vals.items()}
    return out


def run_debug(
    plan: Plan, sample, fitted_stages: list | None = None, rows_to_show: int = 3, echo: Callable[[str], None] = print
) -> list[dict]:
    """Fit (or use `fitted_stages`) and apply each stage on `sample`, reporting as it goes."""
    from pyspark.ml import Estimator

    df = sample.cache()
    cached = [df]
    n = df.count()
    echo(f"debug: pipeline '{plan.name}' on a sample of {n:,} rows")
    report = []
    for i, (entry, spec) in enumerate(plan.stages):
        stage = fitted_stages[i] if fitted_stages else spec.build(plan.spec.label)
        if isinstance(stage, Estimator):
            stage = stage.fit(df)
        before = set(df.columns)
        df = stage.transform(df).cache()
        cached.append(df)
        new = [c for c in df.columns if c not in before]
        kinds = {c: plan.columns[c].column.kind for c in new if c in plan.columns}
        echo(f"\n== stage {i + 1}/{len(plan.stages)} '{entry.name}' ({entry.type}) -> {len(new)} column(s)")
        for f in df.select(*[f"`{c}`" for c in new]).schema.fields:
            echo(f"   {f.name}: {f.dataType.simpleString()} ({kinds.get(f.name, '?')})")
        shown = list(dict.fromkeys([*spec.input_columns()[:3], *new[:6]]))
        echo(df.select(*[f"`{c}`" for c in shown])._jdf.showString(rows_to_show, 20, False))
        stats = _stage_stats(df, {c: kinds.get(c, "") for c in new}, n)
        for c, s in stats.items():
            echo(f"   {c}: " + ", ".join(f"{k}={v}" for k, v in s.items()))
        report.append({"stage": entry.name, "type": entry.type, "columns": stats})
    for frame in cached:
        frame.unpersist()
    return report
