"""Schema contracts as Spark SQL expressions: parse, type and check every row on executors.

`validated_typed(...)` (Hive/Parquet) and `validated_fields(...)` (text lines, already split into one
text per column by a format of `pipelines.ingest.formats`) turn a source day into one DataFrame with the
contract's columns (stg names and types) plus `_raw` (the raw line, or the row's values as JSON),
`_reason` (every broken rule with the offending value, '' when the row is good) and `_reason_keys` (the
same rules without values, for counting), and the input's CARRIED columns where it has them. Nothing
runs on the driver but the schema comparison.
"""

from __future__ import annotations

import re

from pipelines.core.errors import DataError
from pipelines.settings.sources import ColumnContract, Contract

# columns of the input that validation passes through untouched: the file a row was read from (ingest
# re-reads only the files that held bad rows, to quarantine them)
CARRIED = ("_file",)
_INTEGRAL = ["tinyint", "smallint", "int", "bigint"]
_FRACTIONAL = ["float", "double"]
_WHOLE_DIGITS = re.compile(r"decimal\((\d+),0\)")
# contract integral types: their range, and what to declare when real values overflow it (in full, and
# as a value-free reason key)
_RANGE = {
    "int": (
        -(2**31),
        2**31 - 1,
        "declare the column `type: bigint` in the contract (`type: string` for an id)",
        "declare `type: bigint` or `type: string`",
    ),
    "bigint": (-(2**63), 2**63 - 1, "declare the column `type: string` in the contract", "declare `type: string`"),
}


def _compatible(source_type: str, contract_type: str) -> bool:
    """Same type, or a lossless widening (int -> bigint, float -> double, integral -> double)."""
    if source_type == contract_type:
        return True
    if source_type in _INTEGRAL and contract_type in _INTEGRAL:
        return _INTEGRAL.index(source_type) <= _INTEGRAL.index(contract_type)
    if _WHOLE_DIGITS.fullmatch(source_type) and contract_type == "string":
        return True  # unsigned 64-bit ids (Parquet uint64 reads as decimal(20,0)) keep every digit as text
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
            source_type = fields[key].dataType.simpleString()
            digits = _WHOLE_DIGITS.fullmatch(source_type)
            hint = (
                " (integers outside bigint's range: declare the column `type: string`)"
                if digits and int(digits.group(1)) > 18 and c.type in _RANGE
                else ""
            )
            problems.append(f"column {c.name} is {source_type} in the source, {c.type} in the contract{hint}")
    extra = [f.name for k, f in fields.items() if k not in wanted]
    if extra and not contract.allow_new_columns:
        problems.append(
            f"column(s) {', '.join(extra)} are in the source but not in the contract "
            "(set allow_new_columns: true to ignore new columns)"
        )
    if problems:
        raise DataError(f"source {source} ds={ds}: schema drift: " + "; ".join(problems))
    return extra


def _checks(c: ColumnContract, value, present):
    """(condition, message, key) triples of Column expressions for the rules of one typed column."""
    from pyspark.sql import functions as F

    out = []
    if not c.nullable:
        out.append(
            (present & value.isNull(), F.lit(f"{c.name}: missing required value"), f"{c.name}: missing required value")
        )
    if c.min is not None:
        out.append(
            (
                present & (value < F.lit(c.min)),
                F.concat(F.lit(f"{c.name}: "), value.cast("string"), F.lit(f" < min {c.min:g}")),
                f"{c.name}: below min",
            )
        )
    if c.max is not None:
        out.append(
            (
                present & (value > F.lit(c.max)),
                F.concat(F.lit(f"{c.name}: "), value.cast("string"), F.lit(f" > max {c.max:g}")),
                f"{c.name}: above max",
            )
        )
    if c.pattern is not None:
        out.append(
            (
                present & value.isNotNull() & ~value.rlike(f"^(?:{c.pattern})$"),
                F.concat(F.lit(f"{c.name}: '"), value, F.lit(f"' does not match {c.pattern}")),
                f"{c.name}: pattern",
            )
        )
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
    checked = typed_df.select(
        *out_names,
        *keep,
        *[F.coalesce(cond, F.lit(False)).alias(f) for (cond, _, _), f in zip(rules, flags, strict=True)],
    )
    checked = checked.withColumn("_bad", bad)
    no_keys = F.array().cast("array<string>")
    if rules:
        reason = F.concat_ws("; ", *[F.when(F.col(f), msg) for f, (_, msg, _) in zip(flags, rules, strict=True)])
        keys = F.array_compact(
            F.array(*[F.when(F.col(f), F.lit(k)) for f, (_, _, k) in zip(flags, rules, strict=True)])
        )
    else:
        reason, keys = F.lit(""), no_keys
    return checked.select(
        *out_names,
        *[c for c in CARRIED if c in typed_df.columns],
        F.when(F.col("_bad"), F.col("_in")).alias("_raw"),
        F.when(F.col("_bad"), reason).otherwise(F.lit("")).alias("_reason"),
        F.when(F.col("_bad"), keys).otherwise(no_keys).alias("_reason_keys"),
        "_bad",
    )


def validated_typed(df, contract: Contract):
    """A Hive/Parquet day (after check_drift) -> contract columns + _raw/_reason/_reason_keys/_bad.

    A column of another type than the contract's is cast with try_cast: after check_drift only widening
    casts remain, but a value that still does not convert is quarantined as not of the type (naming the
    column and the value), not taken for a missing one; only a null in the source is missing."""
    from pyspark.sql import functions as F

    carried = [c for c in CARRIED if c in df.columns]
    source_cols = [n for n in df.columns if n not in carried]
    fields = {f.name.lower(): f for f in df.schema.fields if f.name not in carried}
    cols, rules = [], []
    for c in contract.columns:
        field = fields[c.name.lower()]
        src = F.col(f"`{field.name}`")
        if field.dataType.simpleString() == c.type:
            cols.append(src.alias(c.out_name))
            rules += _checks(c, F.col(c.out_name), F.lit(True))
            continue
        cols.extend(
            [
                src.try_cast(c.type).alias(c.out_name),
                src.isNotNull().alias(f"_present_{c.out_name}"),
                src.cast("string").alias(f"_text_{c.out_name}"),
            ]
        )
        value, present = F.col(c.out_name), F.col(f"_present_{c.out_name}")
        rules.append(
            (
                present & value.isNull(),
                F.concat(F.lit(f"{c.name}: not a valid {c.type}: '"), F.col(f"_text_{c.out_name}"), F.lit("'")),
                f"{c.name}: not a valid {c.type}",
            )
        )
        rules += _checks(c, value, F.when(present, value.isNotNull()).otherwise(F.lit(True)))
    typed = df.select(*cols, F.to_json(F.struct(*[F.col(f"`{n}`") for n in source_cols])).alias("_in"), *carried)
    return _assemble(typed, [c.out_name for c in contract.columns], rules)


def _type_rules(c: ColumnContract, text, value, readable) -> list:
    """Rules for a text that does not parse as the column's type. An integer outside an integral type's
    range (Avazu's 20-digit unsigned ids in a bigint column) says which type to declare instead."""
    from pyspark.sql import functions as F

    if c.type == "string":
        return []
    unparsed = readable & text.isNotNull() & value.isNull()
    rules = []
    if c.type in _RANGE:
        lo, hi, advice, short = _RANGE[c.type]
        whole = text.rlike(r"^\s*[+-]?[0-9]+\s*$")
        rules.append(
            (
                unparsed & whole,
                F.concat(
                    F.lit(f"{c.name}: '"),
                    text,
                    F.lit(f"' is an integer outside {c.type}'s range [{lo}, {hi}]: {advice}"),
                ),
                f"{c.name}: integer outside {c.type}'s range ({short})",
            )
        )
        unparsed = unparsed & ~whole
    rules.append(
        (
            unparsed,
            F.concat(F.lit(f"{c.name}: not a valid {c.type}: '"), text, F.lit("'")),
            f"{c.name}: not a valid {c.type}",
        )
    )
    return rules


def validated_fields(rows, contract: Contract, shape_rules: list):
    """Parsed text lines -> contract columns + _raw/_reason/_reason_keys/_bad.

    `rows` has `_in` (the raw line), `_f` (array<string>: the line's text for each contract column, in
    order) and whatever helper columns `shape_rules` read. `shape_rules` are (condition, message, key)
    triples saying why a line is not a row at all (wrong field count, bad quoting, a malformed pair): such
    a line is quarantined whole and its columns are not checked. Empty texts are missing values."""
    from pyspark.sql import functions as F

    # each shape rule is evaluated once per line: as a column of its own, read by every later expression
    flags = [f"_shape{i}" for i in range(len(shape_rules))]
    rows = rows.select(
        "*", *[F.coalesce(cond, F.lit(False)).alias(f) for (cond, _, _), f in zip(shape_rules, flags, strict=True)]
    )
    broken = F.lit(False)
    for f in flags:
        broken = broken | F.col(f)
    rows = rows.withColumn("_readable", ~broken)
    readable = F.col("_readable")
    shape_rules = [(F.col(f), msg, key) for f, (_, msg, key) in zip(flags, shape_rules, strict=True)]

    def text(i):
        return F.nullif(F.get(F.col("_f"), i), F.lit(""))  # get(): null past the end, not an error

    typed_cols = []
    for i, c in enumerate(contract.columns):
        v = text(i) if c.type == "string" else text(i).try_cast(c.type)
        typed_cols.append(F.when(readable, v).alias(c.out_name))
    outs = [c.out_name for c in contract.columns]
    typed = rows.select(*typed_cols, *[c for c in rows.columns if c not in outs])
    rules = list(shape_rules)
    for i, c in enumerate(contract.columns):
        v = F.col(c.out_name)
        rules += _type_rules(c, text(i), v, readable)
        # a value that does not parse is reported as such, not also as missing
        rules += _checks(c, v, readable & (text(i).isNull() | v.isNotNull()))
    return _assemble(typed, outs, rules)
