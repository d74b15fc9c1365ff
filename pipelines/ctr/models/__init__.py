"""The model zoo: one module per model, each registering its class with `@register("<name>")` (every
module here but base, blocks and optim, found by the plugin rule of pipelines/core/plugins.py).

`model_class(name)` finds a model; `load_config(name, variant)` reads conf/base/models/<name>.yml
(+ env overlay, + `--set`-style overrides) strictly into the model's config dataclass and applies a
named variant (e.g. `test`); `build_model(name, fm_or_spec, cfg)` instantiates it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.core.errors import ConfigError
from pipelines.core.plugins import Plugins
from pipelines.ctr.models.base import CtrModel, FeatureSpec, ModelConfig, load_model, save_model

__all__ = [
    "CtrModel",
    "FeatureSpec",
    "ModelConfig",
    "build_model",
    "load_config",
    "load_model",
    "model_class",
    "model_names",
    "register",
    "save_model",
]

_MODELS: Plugins[type[CtrModel]] = Plugins("CTR model", __name__, skip={"base", "blocks", "optim"}, name_attr="name")


def register(name: str):
    """Class decorator: the model class is `--model <name>` (its config: conf/base/models/<name>.yml)."""
    return _MODELS.register(name)


def model_names() -> list[str]:
    return _MODELS.names()


def model_class(name: str) -> type[CtrModel]:
    models = _MODELS.load()
    if name not in models:
        import difflib

        close = difflib.get_close_matches(name, list(models), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"unknown CTR model '{name}'{hint}; models: {', '.join(sorted(models))}")
    return models[name]


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def apply_variant(name: str, cfg: ModelConfig, variant: str, overrides: Sequence[str] = ()) -> ModelConfig:
    """The config with the named variant's keys laid over it, then `overrides` (`key=value`, they win last),
    validated like the file itself."""
    from pipelines.common import config, schema

    if variant not in cfg.variants:
        raise ConfigError(f"model '{name}' has no variant '{variant}' (variants: {', '.join(cfg.variants) or 'none'})")
    plain = _merge({**schema.to_plain(cfg), "variants": {}}, cfg.variants[variant])
    plain.update({k: v for k, v in config.parse_set(overrides) if k.split(".")[0] != "variants"})
    return schema.build(type(cfg), plain, where=lambda p: f"models/{name}.yml variants.{variant}")


def load_config(
    name: str, variant: str | None = None, env: str = "local", overrides: Sequence[str] = (), root=None
) -> ModelConfig:
    """conf/base/models/<name>.yml (+ conf/<env>/models/<name>.yml, + overrides `key=value`) as the model's
    config; every variant is checked too, so a typo in one fails at once."""
    from pipelines.common import config

    cls = model_class(name).config_class
    cfg = config.load_named("models", name, cls, env=env, root=root, overrides=overrides)
    for v in cfg.variants:
        apply_variant(name, cfg, v)
    if variant is None:
        return cfg
    return apply_variant(name, cfg, variant, overrides)


def build_model(name: str, features, cfg: ModelConfig, base_rate: float | None = None) -> CtrModel:
    """A fresh model from a FeatureMap (or FeatureSpec) and its config, seeded by cfg.seed; with `base_rate`
    (the training window's positive rate) it starts by predicting that rate."""
    import torch

    spec = features if isinstance(features, FeatureSpec) else FeatureSpec.from_feature_map(features)
    torch.manual_seed(cfg.seed)
    model = model_class(name)(spec, cfg)
    if base_rate is not None:
        model.init_output_bias(base_rate)
    return model
