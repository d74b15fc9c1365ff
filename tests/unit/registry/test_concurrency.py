"""Concurrent writers on one registry, as real processes: registrations never share a version number and
publishes never lose a decision or leave a half-written champion."""

from __future__ import annotations

import json
import multiprocessing as mp

from pipelines.registry.store import Registry
from pipelines.settings.registry import GateSettings

WRITERS = 8


def _register_and_publish(root: str, artifacts: str, i: int, start) -> str:
    reg = Registry(root, GateSettings(metric="auc"))
    start.wait()  # all writers go at once
    mv = reg.register(
        "ctr", artifacts, kind="gbdt_lr", flavor="spark_pipeline", eval_ds="2026-11-02", metrics={"auc": 0.6 + i / 100}
    )
    reg.publish("ctr", mv.version)
    return mv.version


def _publish(root: str, version: str, start) -> bool:
    reg = Registry(root, GateSettings(metric="auc"))
    start.wait()
    return reg.publish("ctr", version, force=True).accepted


def test_concurrent_registrations_and_publishes(tmp_path):
    root = str(tmp_path / "models")
    art = tmp_path / "art"
    art.mkdir()
    (art / "w.bin").write_bytes(b"weights" * 1000)
    ctx = mp.get_context("spawn")  # a fresh interpreter each: no state inherited from this one
    with ctx.Manager() as manager, ctx.Pool(WRITERS) as pool:
        start = manager.Barrier(WRITERS)
        versions = pool.starmap(_register_and_publish, [(root, str(art), i, start) for i in range(WRITERS)])
        assert sorted(versions) == [f"v{n:04d}" for n in range(1, WRITERS + 1)]  # none handed out twice
        reg = Registry(root, GateSettings(metric="auc"))
        decisions = reg.decisions("ctr")
        assert len(decisions) == WRITERS and sorted(d["candidate"] for d in decisions) == sorted(versions)
        # serialised: each decision saw the champion the previous accepted one left
        champion = None
        for d in decisions:
            assert d["champion"] == champion
            if d["accepted"]:
                champion = d["candidate"]
        assert reg.champion("ctr").version == champion
        assert reg.champion("ctr").metrics["auc"] == max(v.metrics["auc"] for v in reg.versions("ctr"))
        assert all(c.status == "ok" for c in reg.check()[0].versions)

        start = manager.Barrier(WRITERS)
        assert all(pool.starmap(_publish, [(root, v, start) for v in versions]))
    decisions = reg.decisions("ctr")
    assert len(decisions) == 2 * WRITERS
    assert (
        json.loads((tmp_path / "models" / "ctr" / "champion.json").read_text())["version"] == decisions[-1]["candidate"]
    )
    assert not [p.name for p in (tmp_path / "models" / "ctr").iterdir() if ".tmp-" in p.name or "_tmp-" in p.name]
