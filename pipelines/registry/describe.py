"""`ctrflow models`: every registered model, its versions with their metrics, and the champion."""

from __future__ import annotations

SHOWN = ("auc", "logloss", "ne", "calibration", "recall_at_k")


def describe_models(reg) -> str:
    names = reg.names()
    if not names:
        return f"no models registered under {reg.location}"
    lines = [f"registry: {reg.location}"]
    for name in names:
        champ = reg.champion(name)
        lines += ["", f"{name}  (champion: {champ.version if champ else 'none'})",
                  f"  {'version':<8} {'kind':<12} {'eval_ds':<11} {'created (UTC)':<26} metrics"]
        for v in reg.versions(name):
            mark = "*" if champ and v.version == champ.version else " "
            metrics = "  ".join(f"{k} {v.metrics[k]:.4f}" for k in SHOWN if isinstance(v.metrics.get(k), float))
            lines.append(f"{mark} {v.version:<8} {v.kind:<12} {v.eval_ds or '-':<11} {v.created_at:<26} {metrics}")
        last = reg.decisions(name)[-1:] or []
        for d in last:
            lines.append(f"  last gate decision: {'accepted' if d['accepted'] else 'refused'} {d['candidate']}: "
                         f"{d['reason']}")
    return "\n".join(lines)
