"""recs_daily end to end with `dag.test()` on tiny planted users and items (slow: a dozen Spark processes).

Three days of synth.profile recs are generated, ingested and encoded (the pipeline fitted on the first).
On the second day a two-tower model is trained (its item embeddings indexed with Faiss) and two real CTR
rankers, GBDT+LR and DeepFM, are trained and published. Then the DAG runs for the third day: it must embed
the day's users, retrieve, build candidate features, rank with the GBDT+LR champion, check and publish.
The candidate features must equal the features job's rows of the same (user, item) pairs, and both rankers
must reorder the candidates and find more of the day's clicks in the top k than the retrieval order (the
DAG's GBDT+LR champion, then DeepFM through the rank job).
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.airflow.dag_runs import count, jobs, queries, query, run_dag
from tests.conftest import test_overrides

DAYS = [dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)]  # on or after dags.yml start_date
TRAIN, DS = DAYS[1], DAYS[2]
K, CANDIDATES = 10, 50


@pytest.fixture(scope="module")
def sets(tmp_path_factory, airflow_db) -> list[str]:
    state = tmp_path_factory.mktemp("recs_state")
    sets = [
        *test_overrides(state),
        "synth.profile=recs",
        "synth.rows_per_day=8000",
        "synth.recs.users=300",
        "synth.recs.items=200",
        "ctr.pipeline=recs",
        "gbdt.pipeline=recs",
        "gbdt.trees.n_estimators=20",
        "gbdt.trees.max_depth=4",
        "ctr.epochs=3",
        "ctr.batch_size=256",
        f"recs.candidates={CANDIDATES}",
        f"recs.k={K}",
        "dags.recs_daily.sensor.poke_interval_s=5",
    ]
    first, t, last = (d.isoformat() for d in DAYS)
    tiny = ["--param", "embed_dim=8", "--param", "hidden_units=[32]", "--param", "output_dim=16"]
    items = "out.recs_two_tower_item_embeddings"
    jobs(  # one process (one Spark session) for the whole set-up, days in ranges
        sets,
        ["generate", "--ds", f"{first}..{last}"],
        ["ingest", "--source", "recs_logs", "--ds", f"{first}..{last}"],
        ["features", "--pipeline", "recs", "--ds", first, "--fit"],
        ["features", "--pipeline", "recs", "--ds", f"{t}..{last}"],
        ["train_ctr", "--ds", t, "--model", "two_tower", "--variant", "recs", *tiny, "--model-name", "recs_two_tower"],
        ["publish", "--ds", t, "--model", "recs_two_tower", "--force"],
        ["build_index", "--ds", t, "--embeddings", items, "--name", "recs_items", "--factory", "Flat"],
        ["train_gbdt_lr", "--ds", t, "--model-name", "recs_ranker"],
        ["publish", "--ds", t, "--model", "recs_ranker", "--force"],
        ["train_ctr", "--ds", t, "--model", "deepfm", "--variant", "test", "--model-name", "recs_deepfm"],
        ["publish", "--ds", t, "--model", "recs_deepfm", "--force"],
    )
    return sets


def test_recs_daily_end_to_end(sets):
    state, tis = run_dag("recs_daily", sets, DS)
    assert state == "success", tis
    assert {t: s for t, (s, _) in tis.items()} == {
        t: "success"
        for t in (
            "wait_for_features",
            "wait_for_index",
            "wait_for_ranker",
            "embed_users",
            "retrieve",
            "candidate_features",
            "rank",
            "check_recs",
            "publish_recs",
        )
    }
    day = f"ds = '{DS.isoformat()}' AND index = 'recs_items'"
    [[users], [recs], [reordered], [row]] = queries(
        sets,
        f"SELECT count(DISTINCT query_id) AS n FROM out.candidates WHERE {day}",
        f"SELECT count(*) AS n FROM out.recs WHERE {day}",
        f"SELECT count(*) AS n FROM out.recs WHERE {day} AND rank <> retrieval_rank",
        f"SELECT * FROM out.recs_quality WHERE {day}",
    )
    assert users["n"] > 100 and recs["n"] == users["n"] * K
    assert row["passed"] and row["coverage"] == 1.0 and row["model"] == "recs_ranker"
    assert (row["index_version"], row["model_version"]) == ("v0001", "v0001")
    assert row["hit_rate"] > row["hit_rate_ann"], row  # GBDT+LR, the champion ranker, finds more clicks
    assert reordered["n"] > 0  # the ranker changed the order


def test_candidate_features_equal_the_features_of_the_same_pairs(sets):
    """Pairs that were both retrieved and shown on the day: every feature column is the features job's."""
    [fm_row] = query(sets, f"SELECT * FROM feat.recs WHERE ds = '{DS.isoformat()}' LIMIT 1")
    features = [c for c in fm_row if c not in ("click", "user_id", "item_id", "ds")]
    cand = f"(SELECT * FROM feat.recs_candidates WHERE ds = '{DS.isoformat()}' AND index = 'recs_items') c"
    feat = f"(SELECT DISTINCT * FROM feat.recs WHERE ds = '{DS.isoformat()}') f"
    same = " AND ".join(f"c.`{col}` <=> f.`{col}`" for col in features)
    [row] = query(
        sets,
        f"SELECT count(*) AS pairs, sum(CASE WHEN {same} THEN 1 ELSE 0 END) AS equal "
        f"FROM {cand} JOIN {feat} ON c.user_id = f.user_id AND c.item_id = f.item_id",
    )
    assert row["pairs"] > 20 and row["equal"] == row["pairs"], row


def test_deepfm_as_ranker_reorders_and_finds_more_clicks(sets):
    d, ranker = DS.isoformat(), "recs_deepfm"
    result, quality = jobs(  # one process for both
        sets,
        ["rank", "--ds", d, "--ranker", ranker, "--index", "recs_items"],
        ["check_recs", "--ds", d, "--index", "recs_items"],
    )
    assert (result["ranker"], result["ranker_version"]) == (ranker, "v0001")
    moved = count(
        sets,
        f"SELECT count(*) FROM out.recs_ranked WHERE ds = '{d}' AND index = 'recs_items' AND rank <> retrieval_rank",
    )
    assert moved > 0  # the ranker changed the order
    assert quality["model"] == ranker and quality["hit_rate"] > quality["hit_rate_ann"], quality
