"""The layer rule of pipelines/, over every import (module level or inside a function): a module imports
its own package or a lower layer, never a higher one; domain packages of one layer do not import each
other; pipelines/ never imports jobs/, operators/ or dags/. A new package takes its place in LAYERS."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# lowest first; a unit is `common.<module>` for pipelines/common, else the package under pipelines/
LAYERS = [
    {"core"},  # plain Python: errors, names, protocol, timing, layout, plugins
    {"settings"},  # the typed config tree (a leaf: only the layer below)
    {
        "common.schema",
        "common.config",
        "common.describe_tables",
        "common.spark",
        "common.tables",
        "common.submit",
        "common.table_names",
        "common.storage",
        "common.staged_delta",
        "common.ordered_pool",
    },
    {"synth", "ingest", "eval"},
    {"features", "registry"},  # the registry evaluates candidates (eval) and stores what features/trainers make
    {"gbdt", "ctr", "ann"},
    {"recs"},  # recall -> rank: ranks with any registered model (registry scoring reaches ctr's and gbdt's)
]
SHARED = {2}  # layers whose units may import each other (pipelines/common's modules)


def _unit(module: str) -> str:
    parts = module.split(".")[1:]
    if parts[:1] == ["common"]:
        return "common." + parts[1] if len(parts) > 1 else "common"
    return parts[0] if parts else ""


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import of pipelines/jobs/operators/dags in a file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top = node.module.split(".")[0]
            if top in ("pipelines", "jobs", "operators", "dags"):
                if node.module in ("pipelines", "pipelines.common"):  # from pipelines.common import tables
                    out += [(f"{node.module}.{a.name}", node.lineno) for a in node.names]
                else:
                    out.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] in ("pipelines", "jobs")]
    return out


def _layer(unit: str) -> int:
    for i, units in enumerate(LAYERS):
        if unit in units:
            return i
    raise AssertionError(f"{unit} has no layer: add it to LAYERS in {Path(__file__).name}")


def test_no_import_runs_up_a_layer():
    problems = []
    for path in sorted((ROOT / "pipelines").rglob("*.py")):
        rel = path.relative_to(ROOT)
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        if module in ("pipelines", "pipelines.common"):
            continue
        mine = _unit(module)
        for target, line in _imports(path):
            if not target.startswith("pipelines."):
                problems.append(f"{rel}:{line} imports {target} (pipelines/ is below jobs/, operators/, dags/)")
                continue
            theirs = _unit(target)
            if theirs == mine:
                continue
            a, b = _layer(mine), _layer(theirs)
            if b > a or (b == a and a not in SHARED):
                problems.append(f"{rel}:{line} ({mine}, layer {a}) imports {target} ({theirs}, layer {b})")
    assert not problems, "\n".join(problems)


def test_every_unit_has_a_layer():
    modules = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "pipelines").rglob("*.py")
    }
    for unit in {_unit(m) for m in modules} - {"", "common"}:
        _layer(unit)
