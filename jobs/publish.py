"""Publish a model version as champion when it passes the registry gate; say why when it does not.

The candidate is --version, or the newest version of --model evaluated on --ds (what the day's
training run registered). The gate (registry.gate: metric, min_delta) promotes it only when it beats
the current champion on the same evaluation day. Exit 0 either way: the result's `accepted` says which
(Airflow's gate operator branches on it); --require-accept makes a refusal exit 3 instead.
A damaged candidate or champion (unreadable meta.json or champion.json, files that differ from the
version's manifest) exits 2 naming the model, the version and the problem; the champion never moves to
a damaged version, and --force over a damaged champion pointer is how it is repaired.
Needs no Spark.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from jobs._harness import JobConfig, main
from pipelines.common.errors import DataError, GateRefused
from pipelines.common.names import Name
from pipelines.registry.store import Registry, RegistryDamaged

log = logging.getLogger("ctrflow")
USES_SPARK = False


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    model: Name = field(metadata={"help": "registry model name, e.g. gbdt_lr"})
    version: str | None = field(default=None, metadata={"help": "the candidate (default: newest evaluated on --ds)"})
    metric: str | None = field(default=None, metadata={"help": "gate metric (default: registry.gate.metric)"})
    force: bool = field(default=False, metadata={"help": "promote even when the gate refuses (logged as forced)"})
    require_accept: bool = field(default=False, metadata={"help": "exit 3 when the gate refuses"})


def candidate(reg: Registry, model: str, ds: str, version: str | None):
    """--version, or the newest version evaluated on ds. A damaged version that may be the day's newer
    candidate (evaluated on ds, or its meta.json unreadable) is refused rather than skipped over."""
    if version is not None:
        return reg.get(model, version)
    on_day = [v for v in reg.versions(model) if v.eval_ds == ds]
    newest = int(on_day[-1].version[1:]) if on_day else 0
    unsure = [d for d in reg.damaged(model) if int(d.version[1:]) > newest and (d.meta is None or d.meta.eval_ds == ds)]
    if unsure:
        healthy = f" (the day's newest healthy version is {on_day[-1].version})" if on_day else ""
        raise RegistryDamaged(f"{unsure[-1]}; it may be the candidate evaluated on {ds}: repair or remove it, "
                              f"or pass --version{healthy}")
    if not on_day:
        raise DataError(f"model '{model}' has no version evaluated on {ds} to publish "
                        f"(versions: {', '.join(f'{v.version}@{v.eval_ds}' for v in reg.versions(model)) or 'none'})")
    return on_day[-1]


def run(spark, cfg: Config) -> dict:
    reg = Registry.from_settings(cfg.settings)
    cand = candidate(reg, cfg.model, cfg.ds.isoformat(), cfg.version)
    decision = reg.publish(cfg.model, cand.version, metric=cfg.metric, force=cfg.force)
    (log.info if decision.accepted else log.warning)("gate %s: %s", "accepted" if decision.accepted else "refused",
                                                     decision.reason)
    if cfg.require_accept and not decision.accepted:
        raise GateRefused(f"gate refused {cfg.model} {cand.version}: {decision.reason}")
    return {**asdict(decision), "champion_now": reg.champion(cfg.model).version if reg.champion(cfg.model) else None}


if __name__ == "__main__":
    raise SystemExit(main())
