"""The tiny text source of the ingest tests: contract `t` (Label, Count, Cat) and CSV files of one day."""

from __future__ import annotations

import datetime as dt

DAY = dt.date(2026, 11, 1)
CONTRACT = {
    "columns": [
        {"name": "Label", "type": "int", "nullable": False, "min": 0, "max": 1},
        {"name": "Count", "type": "int", "min": 0},
        {"name": "Cat", "type": "string", "pattern": "[a-z]+"},
    ]
}


def csv_spec(tmp_path, name: str, lines: list[str], day=DAY, **spec) -> dict:
    """`lines` written as <tmp_path>/<name>/ds=<day>/part-0.csv under the header Label,Count,Cat; the spec
    of a text source reading those files with contract `t`, `spec` added."""
    d = tmp_path / name / f"ds={day}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "part-0.csv").write_text("Label,Count,Cat\n" + "".join(f"{line}\n" for line in lines))
    return {"kind": "text", "path": str(tmp_path / name / "ds={ds}"), "header": True, "contract": "t", **spec}
