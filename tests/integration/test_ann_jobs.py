"""Faiss indices on Spark: the distributed build equals a single-process build of the same trained index,
bad input is a clear error, and the build_index and retrieve jobs run end to end on tiny Delta tables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
import pytest

from jobs.harness import run_job
from pipelines.ann import artifacts, build, vectors
from pipelines.common import tables
from pipelines.core.errors import DataError
from pipelines.registry.store import Registry

DAY, BAD = dt.date(2026, 10, 1), dt.date(2026, 10, 2)
D, N = 16, 3000


def _vectors(seed: int, rows: int, dim: int = D) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(30, dim)) * 4
    return (centers[rng.integers(0, 30, rows)] + rng.normal(size=(rows, dim))).astype(np.float32)


def _write(spark, name: str, ids, vecs, ds: dt.date) -> None:
    pdf = pd.DataFrame({"id": ids, "vector": [None if v is None else [float(a) for a in v] for v in vecs]})
    df = spark.createDataFrame(pdf, "id string, vector array<float>").repartition(3)
    tables.write_delta_partition(df, name, ds)


@pytest.fixture(scope="module")
def items(spark, settings):
    name = tables.table(settings, "out", "ann_it_items")
    x = _vectors(1, N)
    _write(spark, name, [f"item{i}" for i in range(N)], x, DAY)
    return name, x


@pytest.fixture(scope="module")
def queries(spark, settings, items):
    name = tables.table(settings, "out", "ann_it_queries")
    _write(spark, name, [f"item{i}" for i in range(40)], items[1][:40], DAY)
    return name


def _job(overrides, name, *args, spark=None):
    sets = [a for o in [*overrides, "ann.quality.queries=200"] for a in ("--set", o)]
    return run_job(name, [*sets, *args], spark=spark)


def test_distributed_build_equals_single_process_build(spark, settings, items, tmp_path):
    name, x = items
    df = vectors.read_day(spark, name, DAY, "id", "vector")
    trained = build.train("IVF32,Flat", D, "l2", x[:2000])
    layout = build.add_layout(df, trained, 1, 4)
    added = build.distributed_add(spark, layout, trained, D, "id", "vector", str(tmp_path), threads=2)
    assert len(added) == 4 and sum(s.rows for s in added) == N
    assert all(s.uri and s.counts.clean(D) for s in added)
    build.check_added(added, str(tmp_path), "here", "id", "vector")  # no problem: no error
    [merged] = build.merge_shards(build.load_shards(added), 1)

    id_map = pd.read_parquet(tmp_path / artifacts.ID_MAP_DIR).sort_values("faiss_id")
    assert len(id_map) == N and id_map["id"].is_unique
    order = id_map["id"].str[4:].astype(int).to_numpy()
    single = build.build_single_process(trained, x[order], id_map["faiss_id"].to_numpy())

    assert merged.ntotal == single.ntotal == N
    ivf_m, ivf_s = (faiss.extract_index_ivf(i) for i in (merged, single))
    for lst in range(ivf_s.nlist):
        assert ivf_m.invlists.list_size(lst) == ivf_s.invlists.list_size(lst)
    assert artifacts.to_bytes(merged) == artifacts.to_bytes(single)  # same lists, ids and codes, in order
    merged.nprobe = single.nprobe = 4
    assert np.array_equal(merged.search(x[:50], 10)[1], single.search(x[:50], 10)[1])


def test_add_pass_checks_the_vectors_it_adds(spark, settings, tmp_path):
    """A bad vector outside the training sample: its task stops adding and writes no shard; the counts of
    every task and the id map's ids give the error."""
    name = tables.table(settings, "out", "ann_it_late_bad")
    x = _vectors(3, 40)
    vecs = [*x[:30], [float("nan")] * D, *x[31:]]
    ids = [f"i{i}" for i in range(39)] + ["i0"]
    _write(spark, name, ids, vecs, DAY)
    df = vectors.read_day(spark, name, DAY, "id", "vector")
    trained = build.train("IVF4,Flat", D, "l2", x[:30])
    added = build.distributed_add(spark, df, trained, D, "id", "vector", str(tmp_path))
    assert sum(s.rows for s in added) == 40
    assert sum(s.uri is None for s in added) == 1  # the partition holding the NaN: counted, not added
    with pytest.raises(DataError) as e:
        build.check_added(added, str(tmp_path), f"{name} ds={DAY}", "id", "vector")
    assert str(e.value) == (
        f"{name} ds={DAY}: 1 of 40 rows have null or NaN components in vector; "
        "1 duplicate id values among 40 rows (e.g. 'i0' x2)"
    )


def test_bad_input_names_table_column_and_counts(spark, settings, overrides, items, capsys):
    name = tables.table(settings, "out", "ann_it_bad")
    good = _vectors(2, 4)
    nan = good[1].copy()
    nan[3] = np.nan
    cases = {
        dt.date(2026, 10, 2): (
            ["a", "b", "c"],
            [good[0], good[1][:8], good[2]],
            "mixed dimensions in vector: 2 rows of 16, 1 rows of 8",
        ),
        dt.date(2026, 10, 3): (["a", "b", "c"], [good[0], None, good[2]], "1 of 3 rows have a null vector"),
        dt.date(2026, 10, 4): (
            ["a", "b", "a"],
            [good[0], good[1], good[2]],
            "1 duplicate id values among 3 rows (e.g. 'a' x2)",
        ),
        dt.date(2026, 10, 5): (["a", "b", "c"], [good[0], nan, good[2]], "1 of 3 rows have null or NaN components"),
        dt.date(2026, 10, 6): (["a", None, "c"], [good[0], good[1], good[2]], "1 of 3 rows have a null id"),
        dt.date(2026, 10, 7): (["a", "b"], [None, None], "2 of 2 rows have a null vector"),
    }
    for ds, (ids, vecs, _) in cases.items():
        _write(spark, name, ids, vecs, ds)
    build_bad = ["--embeddings", name, "--name", "ann_it_bad"]
    for ds, (_, _, message) in cases.items():
        assert _job(overrides, "build_index", "--ds", str(ds), *build_bad, spark=spark) == 1
        err = capsys.readouterr().err
        assert f"{name} ds={ds}: " in err and message in err, err
    reg = Registry.from_settings(settings)
    assert reg.versions("ann_it_bad") == []
    assert list((Path(reg.root) / "ann_it_bad").glob("*")) == []  # every staging directory was removed
    assert _job(overrides, "build_index", "--ds", "2026-10-09", *build_bad, spark=spark) == 1
    assert f"{name} ds=2026-10-09: the partition is empty (0 rows)" in capsys.readouterr().err
    assert _job(overrides, "build_index", "--ds", str(DAY), "--embeddings", "out.ann_it_nowhere", spark=spark) == 1
    assert "embeddings table out.ann_it_nowhere does not exist" in capsys.readouterr().err


def test_build_index_and_retrieve_jobs(spark, settings, overrides, items, queries, capsys):
    name, x = items
    reg = Registry.from_settings(settings)
    assert (
        _job(
            overrides,
            "build_index",
            "--ds",
            str(DAY),
            "--embeddings",
            name,
            "--name",
            "ann_it",
            "--factory",
            "IVF32,Flat",
            spark=spark,
        )
        == 0
    )
    mv = reg.get("ann_it")  # published: the first version becomes the champion
    assert (mv.version, mv.flavor, mv.kind) == ("v0001", "faiss", "faiss_index")
    meta = artifacts.read_metadata(mv.artifacts)
    assert meta["factory"] == "IVF32,Flat" and meta["ntotal"] == N and meta["dim"] == D
    assert meta["quality"]["search_param"] == "nprobe" and meta["quality"]["target_met"]
    assert mv.metrics["recall_at_k"] >= 0.95 and mv.metrics["recall_at_k"] == meta["quality"]["recall_at_k"]
    assert mv.extra["choice_reason"] == "factory 'IVF32,Flat' from --factory"
    id_map = pd.read_parquet(f"{mv.artifacts}/{artifacts.ID_MAP_DIR}")
    assert sorted(id_map["id"]) == sorted(f"item{i}" for i in range(N))
    assert mv.inputs == {name: tables.delta_version(spark, name)}  # the embeddings' version it was built from

    # automatic choice: 3000 vectors are few enough for exact search; recall 1.0 beats the champion's
    assert _job(overrides, "build_index", "--ds", str(DAY), "--embeddings", name, "--name", "ann_it", spark=spark) == 0
    flat = reg.get("ann_it")
    assert flat.version == "v0002" and flat.extra["factory"] == "Flat"
    assert flat.metrics["recall_at_k"] == 1.0 and "choice.flat_max_vectors" in flat.extra["choice_reason"]
    assert flat.extra["champion_eval"]["version"] == "v0001"
    # the champion measured on this build's queries (another sample than its own): close to its own recall
    assert flat.extra["champion_eval"]["metrics"]["recall_at_k"] == pytest.approx(mv.metrics["recall_at_k"], abs=0.03)

    args = ["--ds", str(DAY), "--index", "ann_it", "--queries", queries, "--k", "5"]
    for _ in range(2):  # a rerun replaces the day
        assert _job(overrides, "retrieve", *args, spark=spark) == 0
    out = spark.table("out.candidates").where(f"ds = '{DAY}' AND index = 'ann_it'").toPandas()
    assert len(out) == 40 * 5 and set(out["rank"]) == {1, 2, 3, 4, 5}
    first = out[out["rank"] == 1]
    assert (first["query_id"] == first["item_id"]).all()  # each item is its own nearest neighbour
    assert (out.sort_values(["query_id", "rank"]).groupby("query_id")["score"].diff().dropna() <= 1e-6).all()
    assert set(out["index_version"]) == {"v0002"}  # the version each candidate came from
