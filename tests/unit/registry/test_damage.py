"""A damaged registry: each broken file gives one line naming the model, the version and the problem."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from jobs.cli import main as cli
from pipelines.core.errors import DataError
from pipelines.registry.describe import describe_models
from pipelines.registry.store import Registry, RegistryDamaged
from pipelines.settings.registry import GateSettings


@pytest.fixture
def reg(tmp_path):
    return Registry(str(tmp_path / "models"), GateSettings(metric="auc"))


def _register(reg, tmp_path, auc=0.7, ds="2026-11-02", name="ctr"):
    d = tmp_path / f"art-{uuid.uuid4().hex[:8]}"
    (d / "model" / "data").mkdir(parents=True)
    (d / "model" / "metadata").write_text('{"class": "PipelineModel"}')
    (d / "model" / "data" / "part-0.parquet").write_bytes(b"PAR1" + bytes(range(200)) + b"PAR1")
    return reg.register(
        name, str(d), kind="gbdt_lr", flavor="spark_pipeline", eval_ds=ds, metrics={"auc": auc, "logloss": 0.4}
    )


def _vdir(tmp_path, version, name="ctr"):
    return tmp_path / "models" / name / version


def test_registration_writes_a_manifest_of_every_file(reg, tmp_path):
    v = _register(reg, tmp_path)
    files = json.loads((_vdir(tmp_path, v.version) / "manifest.json").read_text())
    assert files["algorithm"] == "sha256"
    assert sorted(files["files"]) == ["artifacts/model/data/part-0.parquet", "artifacts/model/metadata", "meta.json"]
    part = files["files"]["artifacts/model/data/part-0.parquet"]
    assert part["size"] == 208 and len(part["sha256"]) == 64
    assert files["files"]["meta.json"]["size"] == (_vdir(tmp_path, v.version) / "meta.json").stat().st_size
    [check] = reg.check()
    assert [(c.version, c.status, c.files) for c in check.versions] == [("v0001", "ok", 3)] and not check.damaged


def test_a_flat_artifacts_directory_registers(reg, tmp_path):
    """pyarrow's copy_files makes the subdirectories of the target, not the target itself."""
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "index.bin").write_bytes(b"faiss")
    v = reg.register("ann", str(flat), kind="faiss_index", flavor="faiss", eval_ds=None, metrics={})
    assert (_vdir(tmp_path, v.version, "ann") / "artifacts" / "index.bin").read_bytes() == b"faiss"
    assert reg.check(["ann"])[0].versions[0].status == "ok"


def test_truncated_meta_json(reg, tmp_path):
    _register(reg, tmp_path, 0.70)
    v2 = _register(reg, tmp_path, 0.72)
    meta = _vdir(tmp_path, v2.version) / "meta.json"
    meta.write_text(meta.read_text()[:40])
    assert [v.version for v in reg.versions("ctr")] == ["v0001"]
    [d] = reg.damaged("ctr")
    assert d.version == "v0002" and "meta.json is not valid JSON, truncated?" in d.problem
    with pytest.raises(RegistryDamaged, match=r"^model ctr v0002: meta.json is not valid JSON") as e:
        reg.get("ctr", "v0002")
    assert "\n" not in str(e.value) and e.value.exit_code == 2
    with pytest.raises(RegistryDamaged, match="model ctr v0002: meta.json is not valid JSON"):
        reg.publish("ctr", "v0002", force=True)
    assert reg.champion("ctr") is None and reg.decisions("ctr") == []


def test_missing_meta_json_and_one_naming_another_version(reg, tmp_path):
    _register(reg, tmp_path)
    v2 = _register(reg, tmp_path)
    (_vdir(tmp_path, "v0001") / "meta.json").unlink()
    with pytest.raises(RegistryDamaged, match="^model ctr v0001: meta.json is missing$"):
        reg.get("ctr", "v0001")
    meta = json.loads((_vdir(tmp_path, v2.version) / "meta.json").read_text())
    (_vdir(tmp_path, v2.version) / "meta.json").write_text(json.dumps({**meta, "version": "v0007"}))
    with pytest.raises(RegistryDamaged, match="meta.json describes ctr v0007, not this directory"):
        reg.get("ctr", "v0002")
    with pytest.raises(DataError, match=r"no version 'v0003' \(versions: v0001 \(damaged\), v0002 \(damaged\)\)") as e:
        reg.get("ctr", "v0003")
    assert not isinstance(e.value, RegistryDamaged)  # an unknown version is a user error, not damage
    assert reg.names() == ["ctr"]  # a model whose versions are all damaged is still listed


def test_empty_and_invalid_champion_json(reg, tmp_path):
    reg.publish("ctr", _register(reg, tmp_path, 0.70).version)
    v2 = _register(reg, tmp_path, 0.75)
    pointer = _vdir(tmp_path, "champion.json")
    for text, problem in [
        ("", "champion.json is empty"),
        ('{"version": ', "champion.json is not valid JSON"),
        ('["v0001"]', "champion.json is not a JSON object"),
        ('{"version": "../x"}', "champion.json names no version"),
        ('{"version": "v0009"}', "champion.json names v0009, which is not in the registry"),
    ]:
        pointer.write_text(text)
        with pytest.raises(RegistryDamaged, match=f"^model ctr: {problem}"):
            reg.champion("ctr")
        with pytest.raises(RegistryDamaged, match=f"^model ctr: {problem}"):
            reg.get("ctr")  # what score does without --version
        with pytest.raises(RegistryDamaged, match=rf"{problem}.*publish --force points the champion at v0002"):
            reg.publish("ctr", v2.version)
    assert [d["accepted"] for d in reg.decisions("ctr")] == [True]  # a refusal for damage is not a gate decision
    [model] = reg.check()
    assert model.damaged and model.problems == (
        "champion.json names v0009, which is not in the registry (versions: v0001, v0002)",
    )
    assert [v.status for v in model.versions] == ["ok", "ok"]
    forced = reg.publish("ctr", v2.version, force=True)  # the repair: force a healthy version in
    assert forced.accepted and forced.reason.startswith("forced over a damaged champion: model ctr: champion.json")
    assert reg.champion("ctr").version == "v0002"


def test_champion_whose_version_is_damaged(reg, tmp_path):
    reg.publish("ctr", _register(reg, tmp_path).version)
    shutil.rmtree(_vdir(tmp_path, "v0001") / "artifacts")
    with pytest.raises(RegistryDamaged, match="^model ctr: the champion v0001 is damaged: artifacts/ is missing$"):
        reg.get("ctr")


def test_deleted_artifacts_dir_and_corrupted_file_are_found_by_check(reg, tmp_path):
    for _ in range(4):
        _register(reg, tmp_path)
    shutil.rmtree(_vdir(tmp_path, "v0001") / "artifacts")
    part = _vdir(tmp_path, "v0002") / "artifacts" / "model" / "data" / "part-0.parquet"
    data = bytearray(part.read_bytes())
    data[100] ^= 0xFF  # same size, other bytes: only the checksum sees it
    part.write_bytes(bytes(data))
    (_vdir(tmp_path, "v0003") / "artifacts" / "model" / "metadata").unlink()
    (_vdir(tmp_path, "v0003") / "artifacts" / "model" / "extra.bin").write_text("x")
    [model] = reg.check()
    got = {v.version: (v.status, v.problems) for v in model.versions}
    assert got == {
        "v0001": ("damaged", ("artifacts/ is missing",)),
        "v0002": ("damaged", ("artifacts/model/data/part-0.parquet changed (sha256 differs)",)),
        "v0003": (
            "damaged",
            ("artifacts/model/metadata missing", "artifacts/model/extra.bin added after registration"),
        ),
        "v0004": ("ok", ()),
    }
    assert model.damaged
    # the size-only check (cheap) misses the same-size corruption; the full one finds it
    reg.verify(reg.get("ctr", "v0002"), hashes=False)
    with pytest.raises(RegistryDamaged, match=r"^model ctr v0002: artifacts/model/data/part-0.parquet changed"):
        reg.verify(reg.get("ctr", "v0002"))
    with pytest.raises(RegistryDamaged, match="v0002 is damaged, it cannot be published: artifacts/model/data"):
        reg.publish("ctr", "v0002", force=True)
    assert reg.champion("ctr") is None


def test_hand_edited_meta_and_unreadable_manifest(reg, tmp_path):
    _register(reg, tmp_path, 0.60)
    _register(reg, tmp_path, 0.60)
    meta = _vdir(tmp_path, "v0001") / "meta.json"
    meta.write_text(meta.read_text().replace('"auc": 0.6', '"auc": 0.9'))  # still valid JSON
    (_vdir(tmp_path, "v0002") / "manifest.json").write_text("")
    [model] = reg.check()
    assert [(v.status, v.problems) for v in model.versions] == [
        ("damaged", ("meta.json changed (sha256 differs)",)),
        ("damaged", ("manifest.json is empty",)),
    ]
    with pytest.raises(RegistryDamaged, match="meta.json changed"):
        reg.publish("ctr", "v0001")


def test_versions_without_a_manifest_are_reported_not_failed(reg, tmp_path):
    _register(reg, tmp_path)
    _register(reg, tmp_path)
    (_vdir(tmp_path, "v0001") / "manifest.json").unlink()  # as registered before manifests existed
    [model] = reg.check()
    assert [(v.version, v.status) for v in model.versions] == [("v0001", "no manifest"), ("v0002", "ok")]
    assert not model.damaged
    assert reg.publish("ctr", "v0001").accepted  # nothing to compare with: the structural checks passed


def test_models_listing_marks_damage_and_keeps_the_healthy(reg, tmp_path):
    reg.publish("ctr", _register(reg, tmp_path, 0.70).version)
    _register(reg, tmp_path, 0.71)
    _register(reg, tmp_path, 0.72)
    (_vdir(tmp_path, "v0002") / "meta.json").write_text("")
    (_vdir(tmp_path, "decisions.jsonl")).write_text('{"accepted": true}\n{"accep')
    text = describe_models(reg)
    assert "ctr  (champion: v0001)" in text and "* v0001" in text and "  v0003" in text and "auc 0.7200" in text
    assert "! v0002    DAMAGED: meta.json is empty" in text
    assert text.index("v0001") < text.index("v0002") < text.index("v0003")
    assert "decisions: DAMAGED: decisions.jsonl line 2 is not valid JSON" in text
    _vdir(tmp_path, "champion.json").write_text("")
    text = describe_models(reg)
    assert "ctr  (champion: DAMAGED: champion.json is empty)" in text and "* v0001" not in text
    # a new decision goes on a line of its own after the torn one
    reg.publish("ctr", "v0003", force=True)
    assert _vdir(tmp_path, "decisions.jsonl").read_text().splitlines()[-1].startswith('{"name": "ctr"')


def test_candidate_is_never_picked_over_a_damaged_newer_version(reg, tmp_path):
    _register(reg, tmp_path, ds="2026-11-02")
    _register(reg, tmp_path, ds="2026-11-02")
    (_vdir(tmp_path, "v0002") / "meta.json").write_text("{")
    with pytest.raises(
        RegistryDamaged,
        match=r"^model ctr v0002: meta.json is not valid JSON.*it may be the "
        r"candidate evaluated on 2026-11-02.*newest healthy version is v0001",
    ):
        reg.candidate("ctr", "2026-11-02")
    assert reg.candidate("ctr", "2026-11-02", "v0001").version == "v0001"
    _register(reg, tmp_path, ds="2026-11-03")  # a later day's version is newer than the damage
    assert reg.candidate("ctr", "2026-11-03").version == "v0003"


def _cli_env(tmp_path):
    return ["--set", f"project.state_dir={tmp_path / 'state'}"]


def test_ctrflow_models_check_command(tmp_path, capsys):
    from pipelines.common.config import load

    reg = Registry.from_settings(load("local", [f"project.state_dir={tmp_path / 'state'}"]).settings)
    _register(reg, tmp_path)
    _register(reg, tmp_path)
    assert cli(["models", "--check", *_cli_env(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "v0001    ok (3 files)" in out and "2 ok, 0 damaged, 0 without a manifest" in out
    models = tmp_path / "state" / "models" / "ctr"
    (models / "v0001" / "manifest.json").unlink()
    (models / "v0002" / "artifacts" / "model" / "metadata").write_text("{}")
    (models / "v0002" / "artifacts" / "model" / "data" / "part-0.parquet").unlink()
    assert cli(["models", "--check", *_cli_env(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "v0001    no manifest (registered before checksums): not verified" in out
    assert "v0002    DAMAGED: 2 files differ from the manifest" in out
    assert "artifacts/model/data/part-0.parquet missing" in out and "artifacts/model/metadata changed (size 2" in out
    assert "0 ok, 1 damaged, 1 without a manifest" in out
    assert cli(["models", *_cli_env(tmp_path)]) == 0  # the listing itself does not hash


def test_publish_and_score_jobs_end_in_one_line_exit_2(tmp_path, capsys):
    from jobs.harness import run_job
    from pipelines.common.config import load

    reg = Registry.from_settings(load("local", [f"project.state_dir={tmp_path / 'state'}"]).settings)
    _register(reg, tmp_path)
    (tmp_path / "state" / "models" / "ctr" / "champion.json").write_text("")
    args = ["--ds", "2026-11-02", *_cli_env(tmp_path), "--model", "ctr"]
    assert run_job("publish", args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == (
        "ctrflow publish: error: model ctr: champion.json is empty (publish --force points the champion at v0001)"
    )
    # score fails before it needs Spark: no session is started for a damaged champion
    assert run_job("score", args, spark=object()) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == (
        "ctrflow score: error: model ctr: champion.json is empty"
    )
    assert run_job("publish", [*args, "--force"]) == 0
    assert reg.champion("ctr").version == "v0001"
    (tmp_path / "state" / "models" / "ctr" / "v0001" / "artifacts" / "model" / "metadata").write_text("{}")
    assert run_job("score", args, spark=object()) == 2  # the files are verified before Spark loads them
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "ctrflow score: error: model ctr v0001: artifacts/model/metadata changed (size 2, registered 26)"
    )
