"""Every model of the zoo: trains on tiny data (loss decreases), saves and loads to the same predictions,
and rejects a misspelt hyper-parameter in its config file, its variants and overrides."""

from __future__ import annotations

import shutil

import pytest
import torch

from pipelines.common import config
from pipelines.core.errors import ConfigError
from pipelines.ctr.models import build_model, load_config, load_model, model_class, model_names, save_model
from tests.unit.ctr import tiny

MODELS = ["lr", "fm", "ffm", "wide_deep", "deepfm", "dcn", "dcn_v2", "two_tower"]
TOWERS = ["user_fields=[u_idx, n2]", "item_fields=[it_idx, c_idx, n1]", "user_id_field=u_idx", "item_id_field=it_idx"]


def _cfg(name: str):
    return load_config(name, "test", overrides=TOWERS if name == "two_tower" else ())


def test_the_zoo_is_complete():
    assert sorted(MODELS) == model_names()


@pytest.mark.parametrize("name", MODELS)
def test_one_epoch_lowers_the_loss_and_round_trips(name, tmp_path):
    model = build_model(name, tiny.spec(), _cfg(name))
    cat, num, y = tiny.tensors(4000, seed=1)
    vcat, vnum, vy = tiny.tensors(1000, seed=2)
    opt = model.make_optimizer()

    def val_loss():
        model.eval()
        with torch.no_grad():
            return torch.nn.functional.binary_cross_entropy_with_logits(model(vcat, vnum), vy).item()

    before = val_loss()
    for _ in range(3):  # three passes over 4000 rows, batches of 100: a second or two per model
        model.train()
        for i in range(0, len(y), 100):
            opt.zero_grad()
            model.loss(cat[i : i + 100], num[i : i + 100], y[i : i + 100]).backward()
            opt.step()
    after = val_loss()
    assert after < before - 0.01, (before, after)

    save_model(model, str(tmp_path / "m"))
    loaded = load_model(str(tmp_path / "m"))
    assert type(loaded) is model_class(name) and loaded.cfg == model.cfg
    model.eval()
    assert torch.equal(model.predict(vcat, vnum), loaded.predict(vcat, vnum))


@pytest.mark.parametrize("name", MODELS)
def test_a_misspelt_key_is_an_error(name, tmp_path):
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(name, overrides=["learning_rat=0.1"])
    root = tmp_path / "conf"
    shutil.copytree(config.conf_root(), root)
    path = root / "base" / "models" / f"{name}.yml"
    path.write_text(path.read_text().replace("learning_rate: 0.1}", "learnin_rate: 0.1}"))
    with pytest.raises(ConfigError, match=r"variants.test.*learnin_rate: unknown key \(did you mean 'learning_rate'"):
        load_config(name, root=root)
    with pytest.raises(ConfigError, match="no variant 'tset'"):
        load_config(name, "tset", overrides=TOWERS if name == "two_tower" else ())


def test_config_rules():
    with pytest.raises(ConfigError, match="adam cannot update sparse embeddings"):
        load_config("deepfm", overrides=["optimizer=adam"])
    assert load_config("deepfm", overrides=["optimizer=adam", "sparse_embeddings=false"]).optimizer == "adam"
    test = load_config("deepfm", "test", overrides=["learning_rate=0.3", "warmup_steps=5"])
    assert (test.learning_rate, test.warmup_steps, test.embed_dim) == (0.3, 5, 4)  # --param wins over the variant
    with pytest.raises(ConfigError, match="warmup_steps >= 0"):
        load_config("deepfm", overrides=["warmup_steps=-1"])
    with pytest.raises(ConfigError, match="unknown CTR model 'deepfn'.*did you mean 'deepfm'"):
        load_config("deepfn")
    spec = tiny.spec()
    with pytest.raises(ConfigError, match=r"fields \['nope'\] are not in feature map"):
        build_model(
            "two_tower",
            spec,
            load_config(
                "two_tower",
                "test",
                overrides=[
                    "user_fields=[u_idx, nope]",
                    "item_fields=[it_idx]",
                    "user_id_field=u_idx",
                    "item_id_field=it_idx",
                ],
            ),
        )
    with pytest.raises(ConfigError, match="exceeds max_parameters"):
        build_model("ffm", spec, load_config("ffm", "test", overrides=["max_parameters=100"]))


@pytest.mark.parametrize(("accumulator", "blows_up"), [(0.0, True), (None, False)])
def test_default_adagrad_does_not_blow_up_fm_terms_on_many_low_cardinality_fields(accumulator, blows_up):
    """58 fields of 4 values each (what ctr_default gives on a small day): with adagrad's accumulator at
    torch's 0 the first steps move every touched coordinate by the full learning rate, the 1,653 pairwise
    FM products line up and DeepFM predicts a constant; the default (deepfm.yml) keeps the loss sane. The
    model starts at the data's positive rate, as training starts it."""
    from pipelines.ctr.models import FeatureSpec

    fields, vocab = 58, 4
    spec = FeatureSpec(
        label="label",
        cat_fields=[f"f{i}" for i in range(fields)],
        offsets=[i * vocab for i in range(fields)],
        vocab_sizes=[vocab] * fields,
        num_fields=[],
        total_vocab_size=fields * vocab,
    )
    overrides = [] if accumulator is None else [f"adagrad_initial_accumulator={accumulator}"]
    model = build_model("deepfm", spec, load_config("deepfm", None, overrides=overrides), base_rate=0.25)
    gen = torch.Generator().manual_seed(3)
    cat = torch.randint(0, vocab, (4096, fields), generator=gen) + torch.arange(fields) * vocab
    y = (torch.rand(4096, generator=gen) < 0.25).float()
    opt = model.make_optimizer()
    for i in range(0, 4096, 2048):  # the two steps of a tiny day
        opt.zero_grad()
        model.loss(cat[i : i + 2048], torch.zeros(2048, 0), y[i : i + 2048]).backward()
        opt.step()
    with torch.no_grad():
        loss = model.loss(cat, torch.zeros(4096, 0), y).item()
    assert (loss > 2.0) == blows_up, loss


def test_ffm_folds_wide_fields_into_shared_field_aware_rows():
    """A hashed field of 2^18 buckets would need 2^18 x fields x dim weights: it shares max_field_vocab rows
    (missing and unknown keep their own); the narrow fields and every linear weight stay one per value."""
    from pipelines.ctr.models.base import FeatureSpec

    wide = 1 << 18
    spec = FeatureSpec(
        label="label",
        cat_fields=["a", "h", "b"],
        offsets=[0, 5, 5 + wide],
        vocab_sizes=[5, wide, 10],
        num_fields=["x"],
        total_vocab_size=15 + wide,
    )
    model = build_model("ffm", spec, load_config("ffm", overrides=["max_field_vocab=100"]))
    assert model.table.weight.shape[0] == 5 + 100 + 10
    assert model.linear.weights.weight.shape[0] == 15 + wide
    local = torch.tensor([0, 1, 99, 100, 197, wide - 1])
    rows = model.rows(torch.stack([torch.full_like(local, 4), 5 + local, torch.full_like(local, 5 + wide)], 1))
    assert rows[:, 1].tolist() == [5, 6, 5 + 99, 5 + 2 + 98 % 98, 5 + 2 + 195 % 98, 5 + 2 + (wide - 3) % 98]
    assert rows[:, 0].tolist() == [4] * 6 and rows[:, 2].tolist() == [105] * 6
    with pytest.raises(ConfigError, match="max_field_vocab or embed_dim"):
        build_model("ffm", spec, load_config("ffm", overrides=["max_field_vocab=0", "max_parameters=1000000"]))
