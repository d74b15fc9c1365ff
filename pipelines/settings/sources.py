"""conf/base/sources.yml: declared sources and their schema contracts (pure dataclasses)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pipelines.core.layout import PartitionFormat, check_template
from pipelines.core.names import Name, TableName

ColumnType = Literal["int", "bigint", "double", "float", "string", "boolean", "date", "timestamp"]
TextFormat = Literal["delimited", "csv", "libsvm"]
# libSVM feature columns take a pair's index (categorical) or its value (numeric)
LIBSVM_FEATURE_TYPES = ("int", "bigint", "string", "double", "float")


def normalise(name: str) -> str:
    """Column names in stg are lower snake_case: 'Click Time' -> 'click_time', 'I1' -> 'i1'."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


@dataclass(frozen=True, kw_only=True)
class ColumnContract:
    """One column: its name in the source, its type, and what a valid value looks like."""

    name: str
    type: ColumnType
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    pattern: str | None = None  # a Java regex the whole value must match (string columns)
    rename: Name | None = None  # name in stg (default: the normalised source name)

    @property
    def out_name(self) -> str:
        return self.rename or normalise(self.name)

    def validate(self) -> None:
        if not self.name.strip() or any(ch in self.name for ch in "`'\";/\n\r\t\0"):
            raise ValueError(
                f"column {self.name!r}: a source column name may not be blank or hold quotes, "
                "backticks, ';', '/' or control characters"
            )
        if self.pattern is not None:
            if self.type != "string":
                raise ValueError(f"column {self.name}: pattern applies to string columns only")
            re.compile(self.pattern)
        if (self.min is not None or self.max is not None) and self.type in ("string", "boolean"):
            raise ValueError(f"column {self.name}: min/max apply to numeric and date columns only")


@dataclass(frozen=True, kw_only=True)
class Contract:
    """The schema a source promises. Drift (columns added, removed, retyped) is an error, except that
    `allow_new_columns: true` tolerates extra source columns (they are ignored and logged)."""

    columns: list[ColumnContract]
    allow_new_columns: bool = False

    def validate(self) -> None:
        outs = [c.out_name for c in self.columns]
        dup = sorted({o for o in outs if outs.count(o) > 1})
        if dup:
            raise ValueError(f"columns map to the same stg name: {', '.join(dup)}")
        if "ds" in outs:
            raise ValueError("'ds' is the partition column of every stg table: rename the source column")


@dataclass(frozen=True, kw_only=True)
class SourceSpec:
    """A declared source. Paths may contain day placeholders ({ds}, {ds_nodash}, {yymmdd}, {yyyy}/{mm}/{dd})
    and Hadoop globs (*, ?); a relative path is under project.state_dir."""

    kind: Literal["hive", "parquet", "text"]
    contract: Name
    table: TableName | None = None  # hive: db.table
    path: str | None = None  # parquet / text: free (absolute, URI, or under state_dir) but no `..` segment
    partition_column: Name | None = None  # hive: auto-detected when null; parquet: the key of ds=... dirs
    partition_format: str = "yyyy-MM-dd"  # Java date pattern of partition values; hourly (yyMMddHH) folds into ds
    date_column: Name | None = None  # a column holding the day, when the data is not partitioned by it
    date_format: str | None = None  # Java date pattern of date_column's values (e.g. yyMMddHH); null: a date
    format: TextFormat = "delimited"  # text: delimited (split, no quoting) | csv (RFC 4180 quotes) | libsvm
    delimiter: str = ","  # text: delimited and csv
    header: bool = False  # text: the first line of each file is a header (skipped, whatever it says)
    max_bad_fraction: float = 0.01  # above it the job fails (the quarantine is still written)
    sample_rows: int = 10
    description: str = ""

    def validate(self) -> None:
        if self.kind == "hive" and not self.table:
            raise ValueError("a hive source needs `table`")
        if self.kind in ("parquet", "text") and not self.path:
            raise ValueError(f"a {self.kind} source needs `path`")
        if self.kind == "text" and len(self.delimiter) != 1:
            raise ValueError("delimiter must be a single character")
        if self.kind == "text" and self.format == "csv" and self.delimiter == '"':
            raise ValueError("a csv source's delimiter cannot be the quote character '\"'")
        if self.kind != "text" and self.format != "delimited":
            raise ValueError(f"format applies to text sources only (this one is {self.kind})")
        if self.date_format is not None and not self.date_column:
            raise ValueError("date_format needs date_column")
        if self.path:
            check_template(self.path)
            if ".." in self.path.split("://", 1)[-1].split("/"):
                raise ValueError(f"path {self.path!r}: '..' segments are not allowed")
        PartitionFormat(self.partition_format).validate()
        if not 0 <= self.max_bad_fraction <= 1:
            raise ValueError("max_bad_fraction must be in [0, 1]")


@dataclass(frozen=True, kw_only=True)
class SourcesSettings:
    sources: dict[Name, SourceSpec]
    contracts: dict[Name, Contract]
    catalog_table: Name = "ingest_catalog"  # stg.<catalog_table>: one row per ingest run

    def validate(self) -> None:
        for name, src in self.sources.items():
            if src.contract not in self.contracts:
                raise ValueError(
                    f"source {name}: contract '{src.contract}' is not defined "
                    f"(contracts: {', '.join(sorted(self.contracts))})"
                )
            if src.kind == "text" and src.format == "libsvm":
                _check_libsvm_contract(name, self.contracts[src.contract])
            if normalise(name) != name:
                raise ValueError(f"source name '{name}' must be lower snake_case (it names stg.{name})")


def _check_libsvm_contract(source: str, contract: Contract) -> None:
    """A libSVM line is a label and idx:val pairs: the contract's first column is the label, each further
    column takes one pair's index (int, bigint, string) or value (double, float)."""
    if len(contract.columns) < 2:
        raise ValueError(f"source {source}: a libsvm contract needs the label column and at least one feature")
    bad = [f"{c.name} ({c.type})" for c in contract.columns[1:] if c.type not in LIBSVM_FEATURE_TYPES]
    if bad:
        raise ValueError(
            f"source {source}: libsvm feature columns take an index (int, bigint, string) or a value "
            f"(double, float); not {', '.join(bad)}"
        )
