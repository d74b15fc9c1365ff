"""Schema drift on typed sources: an unsigned 64-bit id column (Parquet uint64 reads as decimal(20,0))
cannot be a bigint; the error says to declare it a string, and a string contract accepts it."""

from __future__ import annotations

import pytest
from pyspark.sql.types import DecimalType, IntegerType, StructField, StructType

from pipelines.core.errors import DataError
from pipelines.ingest.contract import check_drift
from pipelines.settings.sources import ColumnContract, Contract

SCHEMA = StructType([StructField("id", DecimalType(20, 0)), StructField("click", IntegerType())])


def _contract(id_type: str) -> Contract:
    return Contract(columns=[ColumnContract(name="id", type=id_type), ColumnContract(name="click", type="int")])


def test_a_wide_decimal_id_in_a_bigint_column_suggests_string():
    with pytest.raises(DataError) as e:
        check_drift("avazu", "2026-11-01", SCHEMA, _contract("bigint"))
    assert (
        "column id is decimal(20,0) in the source, bigint in the contract (integers outside bigint's range: "
        "declare the column `type: string`)"
    ) in str(e.value)


def test_a_wide_decimal_id_is_read_as_a_string():
    assert check_drift("avazu", "2026-11-01", SCHEMA, _contract("string")) == []


def test_other_retyped_columns_get_no_hint():
    schema = StructType([StructField("id", DecimalType(10, 2)), StructField("click", IntegerType())])
    with pytest.raises(DataError) as e:
        check_drift("avazu", "2026-11-01", schema, _contract("string"))
    assert str(e.value).endswith("column id is decimal(10,2) in the source, string in the contract")
