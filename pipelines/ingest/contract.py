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
    """(reason, key) pairs of Column expressions for the rules of one typed column."""
    from pyspark.sql import functions as F

    out = []
    if not c.nullable:
        out.append((present & value.isNull(), F.lit(f"{c.name}: missing required value"),
                    f"{c.name}: missing required value"))
    if c.min is not None:
        bound = F.lit(c.min)
        out.append((present & (value < bound), F.concat(F.lit(f"{c.name}: "), value.cast("string"),
                                                        F.lit(f" < min {c.min:g}")), f"{c.name}: below min"))
    if c.max is not None:
        bound = F.lit(c.max)
        out.append((present & (value > bound), F.concat(F.lit(f"{c.name}: "), value.cast("string"),
                                                        F.lit(f" > max {c.max:g}")), f"{c.name}: above max"))
    if c.pattern is not None:
        out.append((present & value.isNotNull() & ~value.rlike(f"^(?:{c.pattern})$"),
                    F.concat(F.lit(f"{c.name}: '"), value, F.lit(f"' does not match {c.pattern}")),
                    f"{c.name}: pattern"))
    return out


def _assemble(typed: list, rules: list, raw):
    from pyspark.sql import functions as F

    reason = F.concat_ws("; ", *[F.when(cond, msg) for cond, msg, _ in rules]) if rules else F.lit("")
    keys = F.array_compact(F.array(*[F.when(cond, F.lit(key)) for cond, _, key in rules])) if rules \
        else F.array().cast("array<string>")
    return [*typed, raw.alias("_raw"), reason.alias("_reason"), keys.alias("_reason_keys")]


def validated_typed(df, contract: Contract):
    """A Hive/Parquet day (after check_drift) -> contract columns + _raw/_reason/_reason_keys."""
    from pyspark.sql import functions as F

    names = {f.name.lower(): f.name for f in df.schema.fields}
    typed, rules = [], []
    for c in contract.columns:
        v = F.col(f"`{names[c.name.lower()]}`").cast(c.type)
        typed.append(v.alias(c.out_name))
        rules += _checks(c, v, F.lit(True))
    raw = F.to_json(F.struct(*[F.col(f"`{n}`") for n in df.columns]))
    return df.select(*_assemble(typed, rules, raw))


def validated_text(lines, contract: Contract, delimiter: str, header: bool):
    """Delimited lines (column `value`) -> contract columns + _raw/_reason/_reason_keys.
    Empty fields are missing values; a line with the wrong number of fields is quarantined whole."""
    from pyspark.sql import functions as F

    if header:
        lines = lines.where(F.col("value") != delimiter.join(c.name for c in contract.columns))
    n = len(contract.columns)
    fields = F.split(F.col("value"), re.escape(delimiter), -1)
    count_ok = F.size(fields) == n
    rules = [(~count_ok, F.concat(F.lit(f"expected {n} fields, found "), F.size(fields).cast("string")),
              "wrong number of fields")]
    typed = []
    for i, c in enumerate(contract.columns):
        text = F.nullif(F.get(fields, i), F.lit(""))  # get(): null past the end, not an error
        v = text if c.type == "string" else text.try_cast(c.type)
        typed.append(F.when(count_ok, v).alias(c.out_name))
        if c.type != "string":
            rules.append((count_ok & text.isNotNull() & v.isNull(),
                          F.concat(F.lit(f"{c.name}: not a valid {c.type}: '"), text, F.lit("'")),
                          f"{c.name}: not a valid {c.type}"))
        rules += _checks(c, v, count_ok)
    return lines.select(*_assemble(typed, rules, F.col("value")))
