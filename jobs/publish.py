"""Publish a model version as champion when it passes the registry gate; say why when it does not.

The candidate is --version, or the newest version of --model evaluated on --ds (what the day's
training run registered: Registry.candidate). The gate (registry.gate: metric, min_delta) promotes it
only when it beats the current champion on the same evaluation day (a candidate evaluated on an earlier
day than the champion is refused). The decision is logged as made for --ds: from that day on the version
is the champion that `score` and `retrieve` use (Registry.champion_as_of). Exit 0 either way: the result's
`accepted` says which (Airflow's gate operator branches on it); --require-accept makes a refusal exit 3.
A damaged candidate or champion (unreadable meta.json or champion.json, files that differ from the
version's manifest) exits 2 naming the model, the version and the problem; the champion never moves to
a damaged version, and --force over a damaged champion pointer is how it is repaired.
Needs no Spark.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from jobs.harness import JobConfig, main
from pipelines.core.errors import GateRefused
from pipelines.core.names import Name
from pipelines.registry.store import Registry

log = logging.getLogger("ctrflow")
USES_SPARK = False


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    model: Name = field(metadata={"help": "registry model name, e.g. gbdt_lr"})
    version: str | None = field(default=None, metadata={"help": "the candidate (default: newest evaluated on --ds)"})
    metric: str | None = field(default=None, metadata={"help": "gate metric (default: registry.gate.metric)"})
    force: bool = field(default=False, metadata={"help": "promote even when the gate refuses (logged as forced)"})
    require_accept: bool = field(default=False, metadata={"help": "exit 3 when the gate refuses"})


def run(spark, cfg: Config) -> dict:
    reg = Registry.from_settings(cfg.settings)
    cand = reg.candidate(cfg.model, cfg.ds.isoformat(), cfg.version)
    decision = reg.publish(cfg.model, cand.version, metric=cfg.metric, force=cfg.force, ds=cfg.ds)
    (log.info if decision.accepted else log.warning)(
        "gate %s: %s", "accepted" if decision.accepted else "refused", decision.reason
    )
    if cfg.require_accept and not decision.accepted:
        raise GateRefused(f"gate refused {cfg.model} {cand.version}: {decision.reason}")
    return {**asdict(decision), "champion_now": reg.champion(cfg.model).version if reg.champion(cfg.model) else None}


if __name__ == "__main__":
    raise SystemExit(main())
