"""Text formats of a source: reading a day's lines, and splitting each line into one text per contract
column, as Spark SQL expressions run on executors (no Python per row).

Every format yields the raw line (`_in`, what the quarantine keeps), the lines' other columns (the input
file, `_file`), the texts (`_f`) and its shape
rules: the reasons a line is not a row at all (wrong field count, bad quoting, a malformed idx:val
pair, a bad label). `pipelines.ingest.contract.validated_fields` then types and checks the texts like
any other source's values, so reasons read the same whatever the format.

- delimited: split on one character, no quoting (Criteo's TSV).
- csv: RFC 4180 fields, parsed by Spark's own CSV parser (`from_csv`): `"a,b"` is one field and `""`
  inside quotes is a quote. A line that parser rejects is caught with its raw text.
- libsvm: `label idx:val idx:val ...` (libFM / libSVM: Frappe, MovieLens-derived sets, Criteo's libSVM
  releases). The contract's first column is the label (-1 is read as 0); each further column is filled
  from the pair at its position: an int/bigint/string column takes the index (the categorical value that
  is on), a double/float column takes the value.
"""

from __future__ import annotations

import re

from pipelines.settings.sources import Contract, SourceSpec

# Spark's CSV reader drops the first line of each file (header=true); reading the whole line as the one
# field of a one-column CSV keeps that behaviour and nothing else: quoting is off and the separator is a
# private-use character (a line that holds one is caught as malformed, with its raw text, all the same).
_LINE_SEP = "\ue000"
_LINE_CORRUPT = "_line_corrupt"


def read_lines(spark, paths: list[str], header: bool):
    """The lines of a text source's files as `_in`. With a header, the first line of each file is
    skipped whatever it says (Spark's CSV reader: it also skips blank lines); without one, every line is
    a row (a blank line is a malformed row)."""
    from pyspark.sql import functions as F

    if not header:
        return spark.read.text(paths).select(F.col("value").alias("_in"))
    _quiet_header_check(spark)
    lines = (
        spark.read.schema(f"value string, {_LINE_CORRUPT} string")
        .option("header", True)
        .option("enforceSchema", True)
        .option("sep", _LINE_SEP)
        .option("quote", "")
        .option("escape", "")
        .option("comment", "")
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", _LINE_CORRUPT)
        .option("ignoreLeadingWhiteSpace", False)
        .option("ignoreTrailingWhiteSpace", False)
        .option("nullValue", _LINE_SEP)
        .option("maxCharsPerColumn", -1)
        .csv(paths)
    )
    return lines.select(F.coalesce(F.col(_LINE_CORRUPT), F.col("value"), F.lit("")).alias("_in"))


def _quiet_header_check(spark) -> None:
    """Spark warns for each file whose header differs from the schema's column names: here they always
    differ (the one column is the whole line), and skipping the header whatever it says is the point."""
    jvm = spark.sparkContext._jvm
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        "org.apache.spark.sql.catalyst.csv.CSVHeaderChecker", jvm.org.apache.logging.log4j.Level.ERROR
    )


def delimited(lines, contract: Contract, delimiter: str):
    """Fields split on one character; no quoting."""
    from pyspark.sql import functions as F

    n = len(contract.columns)
    rows = lines.select("*", F.split(F.col("_in"), re.escape(delimiter), -1).alias("_f"))
    found = F.size(F.col("_f"))
    return rows, [
        (found != n, F.concat(F.lit(f"expected {n} fields, found "), found.cast("string")), "wrong number of fields")
    ]


def csv(lines, contract: Contract, delimiter: str):
    """RFC 4180 fields, parsed by Spark's CSV parser with quotes respected and `""` as an escaped quote.
    A line it rejects is quarantined as unbalanced quotes, a wrong field count (counted outside quoted
    text) or, failing both, malformed quoting."""
    from pyspark.sql import functions as F

    n = len(contract.columns)
    names = [f"_c{i}" for i in range(n)]
    schema = ", ".join(f"{c} string" for c in [*names, "_corrupt"])
    options = {
        "sep": delimiter,
        "quote": '"',
        "escape": '"',
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": "_corrupt",
        "ignoreLeadingWhiteSpace": "false",
        "ignoreTrailingWhiteSpace": "false",
        "maxCharsPerColumn": "-1",
    }
    parsed = lines.select("*", F.from_csv(F.col("_in"), schema, options).alias("_p"))
    rows = parsed.select(
        *lines.columns,
        F.array(*[F.col(f"_p.{c}") for c in names]).alias("_f"),
        F.col("_p._corrupt").isNotNull().alias("_malformed"),
    )
    line = F.col("_in")
    quotes = F.length(line) - F.length(F.replace(line, F.lit('"'), F.lit("")))
    unquoted = F.regexp_replace(line, r'"(?:[^"]|"")*"', "")  # a quoted field's delimiters do not count
    found = F.size(F.split(unquoted, re.escape(delimiter), -1))
    malformed = F.col("_malformed")
    odd = malformed & (quotes % 2 == 1)
    miscounted = malformed & ~odd & (found != n)
    return rows, [
        (odd, F.lit("unbalanced quotes"), "unbalanced quotes"),
        (miscounted, F.concat(F.lit(f"expected {n} fields, found "), found.cast("string")), "wrong number of fields"),
        (malformed & ~odd & ~miscounted, F.lit("malformed quoting"), "malformed quoting"),
    ]


def libsvm(lines, contract: Contract):
    """`label idx:val ...`, whitespace-separated. The label must be -1, 0 or 1 (-1 becomes 0); there must
    be one pair per feature column; an index is a non-negative integer and a value a number."""
    from pyspark.sql import functions as F

    features = contract.columns[1:]
    n = len(features)
    tokens = F.split(F.regexp_replace(F.col("_in"), r"^\s+|\s+$", ""), r"\s+", -1)
    split = lines.select(
        "*",
        tokens.getItem(0).alias("_label_text"),
        F.slice(tokens, 2, F.greatest(F.size(tokens) - 1, F.lit(0))).alias("_pairs"),
    )
    pair_shape = r"^[^:]+:[^:]+$"

    def index(p):
        return F.substring_index(p, ":", 1)

    def value(p):
        return F.substring_index(p, ":", -1)

    label = F.col("_label_text").try_cast("double")
    helpers = split.select(
        "*",
        F.when(label.isin(-1.0, 0.0), F.lit("0")).when(label == 1.0, F.lit("1")).alias("_label"),
        F.filter("_pairs", lambda p: ~p.rlike(pair_shape)).alias("_bad_tokens"),
        F.filter("_pairs", lambda p: p.rlike(pair_shape) & ~index(p).rlike(r"^[0-9]+$")).alias("_bad_index"),
        F.filter("_pairs", lambda p: p.rlike(pair_shape) & value(p).try_cast("double").isNull()).alias("_bad_value"),
    )
    pairs = F.col("_pairs")
    texts = [F.col("_label")]
    for i, c in enumerate(features):
        pair = F.get(pairs, i)
        texts.append(value(pair) if c.type in ("double", "float") else index(pair))
    rows = helpers.select("*", F.array(*texts).alias("_f"))

    def first(col: str):
        return F.get(F.col(col), 0)

    return rows, [
        (
            F.col("_label").isNull(),
            F.concat(F.lit("label '"), F.col("_label_text"), F.lit("' is not -1, 0 or 1")),
            "label not -1, 0 or 1",
        ),
        (
            F.size(pairs) != n,
            F.concat(F.lit(f"expected {n} idx:val pairs, found "), F.size(pairs).cast("string")),
            "wrong number of idx:val pairs",
        ),
        (
            F.size(F.col("_bad_tokens")) > 0,
            F.concat(F.lit("token '"), first("_bad_tokens"), F.lit("' is not idx:val")),
            "token not idx:val",
        ),
        (
            F.size(F.col("_bad_index")) > 0,
            F.concat(F.lit("index of '"), first("_bad_index"), F.lit("' is not a non-negative integer")),
            "index not an integer",
        ),
        (
            F.size(F.col("_bad_value")) > 0,
            F.concat(F.lit("value of '"), first("_bad_value"), F.lit("' is not a number")),
            "value not a number",
        ),
    ]


def parse(lines, contract: Contract, spec: SourceSpec):
    """(rows with `_in` and `_f`, shape rules) of a text source's lines in the source's format."""
    if spec.format == "csv":
        return csv(lines, contract, spec.delimiter)
    if spec.format == "libsvm":
        return libsvm(lines, contract)
    return delimited(lines, contract, spec.delimiter)


def describe(spec: SourceSpec) -> str:
    """The observed schema the catalog records for a text source."""
    if spec.format == "csv":
        return f"text: csv fields separated by {spec.delimiter!r}, quoted with '\"'"
    if spec.format == "libsvm":
        return "text: libsvm lines (label idx:val ...)"
    return f"text: lines split on {spec.delimiter!r}"
