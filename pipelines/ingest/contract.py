"""Schema contracts as Spark SQL expressions: parse, type and check every row on executors.

`validated(...)` turns a source day into one DataFrame with the contract's columns (stg names and
types) plus `_raw` (the raw line, or the row's values as JSON), `_reason` (every broken rule with the
offending value, '' when the row is good) and `_reason_keys` (the same rules without values, for
counting). Nothing runs on the driver but the schema comparison.
"""

from __future__ import annotations

import re

from pipelines.common.errors import DataError
from pipelines.ingest.settings import ColumnContract, Contract

_INTEGRAL = ["tinyint", "smallint", "int", "bigint"]
_FRACTIONAL = ["float", "double"]


def _compatible(source_type: str, contract_type: str) -> bool:
    """Same type, or a lossless widening (int -> bigint, float -> double, integral -> double)."""
    if source_type == contract_type:
        return True
    if source_type in _INTEGRAL and contract_type in _INTEGRAL:
        return _INTEGRAL.index(source_type) <= _INTEGRAL.index(contract_type)
    return source_type in (*_INTEGRAL, "float") and contract_type == "double"


def check_drift(source: str, ds: str, schema, contract: Contract) -> list[str]:
    """Compare a typed source's schema with its contract. Returns the tolerated extra columns; raises
    DataError on a removed or retyped column, or an added one unless the contract allows it."""
    fields = {f.name.lower(): f for f in schema.fields}
    wanted = {c.name.lower(): c for c in contract.columns}
    problems = []
    for key, c in wanted.items():
        if key not in fields:
            problems.append(f"column {c.name} ({c.type}) is in the contract but not in the source")
        elif not _compatible(fields[key].dataType.simpleString(), c.type):
            problems.append(f"column {c.name} is {fields[key].dataType.simpleString()} in the source, "
                            f"{c.type} in the contract")
    extra = [f.name for k, f in fields.items() if k not in wanted]
    if extra and not contract.allow_new_columns:
        problems.append(f"column(s) {', '.join(extra)} are in the source but not in the contract "
                        "(set allow_new_columns: true to ignore new columns)")
    if problems:
        raise DataError(f"source {source} ds={ds}: schema drift: " + "; ".join(problems))
    return extra


def _checks(c: ColumnContract, value, present):
    """(condition, message, key) triples of Column expressions for the rules of one typed column."""
    from pyspark.sql import functions as F

    out = []
    if not c.nullable:
        out.append((present & value.isNull(), F.lit(f"{c.name}: missing required value"),
                    f"{c.name}: missing required value"))
    if c.min is not None:
        out.append((present & (value < F.lit(c.min)), F.concat(F.lit(f"{c.name}: "), value.cast("string"),
                                                               F.lit(f" < min {c.min:g}")), f"{c.name}: below min"))
    if c.max is not None:
        out.append((present & (value > F.lit(c.max)), F.concat(F.lit(f"{c.name}: "), value.cast("string"),
                                                               F.lit(f" > max {c.max:g}")), f"{c.name}: above max"))
    if c.pattern is not None:
        out.append((present & value.isNotNull() & ~value.rlike(f"^(?:{c.pattern})$"),
                    F.concat(F.lit(f"{c.name}: '"), value, F.lit(f"' does not match {c.pattern}")),
                    f"{c.name}: pattern"))
    return out


def _assemble(typed_df, out_names: list[str], rules: list):
    """Typed rows (contract columns + `_in`, the raw input) -> + `_raw`/`_reason`/`_reason_keys`/`_bad`.

    Two further projections, so that every expression runs once per row (Spark does not inline a
    non-trivial column used more than once): one boolean per rule and `_bad`; then the reason text, its
    keys and the raw input for bad rows only (good rows get '' / [] / null and cost nothing more).
    """
    from pyspark.sql import functions as F

    flags = [f"_rule{i}" for i in range(len(rules))]
    bad = F.lit(False)
    for f in flags:
        bad = bad | F.col(f)
    keep = [c for c in typed_df.columns if c not in out_names]  # _in and helpers the messages read
    checked = typed_df.select(*out_names, *keep, *[F.coalesce(cond, F.lit(False)).alias(f)
                                                             for (cond, _, _), f in zip(rules, flags, strict=True)])
    checked = checked.withColumn("_bad", bad)
    no_keys = F.array().cast("array<string>")
    if rules:
        reason = F.concat_ws("; ", *[F.when(F.col(f), msg) for f, (_, msg, _) in zip(flags, rules, strict=True)])
        keys = F.array_compact(F.array(*[F.when(F.col(f), F.lit(k))
                                         for f, (_, _, k) in zip(flags, rules, strict=True)]))
    else:
        reason, keys = F.lit(""), no_keys
    return checked.select(
        *out_names,
        F.when(F.col("_bad"), F.col("_in")).alias("_raw"),
        F.when(F.col("_bad"), reason).otherwise(F.lit("")).alias("_reason"),
        F.when(F.col("_bad"), keys).otherwise(no_keys).alias("_reason_keys"),
        "_bad")


def validated_typed(df, contract: Contract):
    """A Hive/Parquet day (after check_drift) -> contract columns + _raw/_reason/_reason_keys/_bad."""
    from pyspark.sql import functions as F

    names = {f.name.lower(): f.name for f in df.schema.fields}
    typed = df.select(*[F.col(f"`{names[c.name.lower()]}`").cast(c.type).alias(c.out_name) for c in contract.columns],
                      F.to_json(F.struct(*[F.col(f"`{n}`") for n in df.columns])).alias("_in"))
    rules = [r for c in contract.columns for r in _checks(c, F.col(c.out_name), F.lit(True))]
    return _assemble(typed, [c.out_name for c in contract.columns], rules)


def validated_text(lines, contract: Contract, delimiter: str, header: bool):
    """Delimited lines (column `value`) -> contract columns + _raw/_reason/_reason_keys/_bad.
    Empty fields are missing values; a line with the wrong number of fields is quarantined whole."""
    from pyspark.sql import functions as F

    if header:
        lines = lines.where(F.col("value") != delimiter.join(c.name for c in contract.columns))
    n = len(contract.columns)
    split = lines.select(F.col("value").alias("_in"), F.split(F.col("value"), re.escape(delimiter), -1).alias("_f"))
    count_ok = F.size(F.col("_f")) == n

    def text(i):
        return F.nullif(F.get(F.col("_f"), i), F.lit(""))  # get(): null past the end, not an error

    typed_cols = []
    for i, c in enumerate(contract.columns):
        v = text(i) if c.type == "string" else text(i).try_cast(c.type)
        typed_cols.append(F.when(count_ok, v).alias(c.out_name))
    typed = split.select(*typed_cols, "_in", "_f")
    rules = [(~count_ok, F.concat(F.lit(f"expected {n} fields, found "), F.size(F.col("_f")).cast("string")),
              "wrong number of fields")]
    for i, c in enumerate(contract.columns):
        v = F.col(c.out_name)
        if c.type != "string":
            rules.append((count_ok & text(i).isNotNull() & v.isNull(),
                          F.concat(F.lit(f"{c.name}: not a valid {c.type}: '"), text(i), F.lit("'")),
                          f"{c.name}: not a valid {c.type}"))
        rules += _checks(c, v, count_ok)
    return _assemble(typed, [c.out_name for c in contract.columns], rules)
