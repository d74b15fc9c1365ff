"""`ctrflow models`: every registered model, its versions with their metrics, and the champion; damaged
versions and files are listed with what is wrong. `ctrflow models --check`: every version's files
against its manifest."""

from __future__ import annotations

from pipelines.registry.store import ModelCheck, RegistryDamaged

SHOWN = ("auc", "logloss", "ne", "calibration", "recall_at_k")


def describe_models(reg) -> str:
    names = reg.names()
    if not names:
        return f"no models registered under {reg.location}"
    lines = [f"registry: {reg.location}"]
    damaged_count = 0
    for name in names:
        try:
            champ = reg.champion(name)
            champ_text = champ.version if champ else "none"
        except RegistryDamaged as e:
            champ, champ_text = None, f"DAMAGED: {str(e).removeprefix(f'model {name}: ')}"
            damaged_count += 1
        lines += [
            "",
            f"{name}  (champion: {champ_text})",
            f"  {'version':<8} {'kind':<12} {'eval_ds':<11} {'created (UTC)':<26} metrics",
        ]
        rows = [(int(v.version[1:]), _version_line(v, champ)) for v in reg.versions(name)]
        for d in reg.damaged(name):
            rows.append((int(d.version[1:]), f"! {d.version:<8} DAMAGED: {d.problem}"))
            damaged_count += 1
        lines += [line for _, line in sorted(rows)]
        try:
            last = reg.decisions(name)[-1:]
        except RegistryDamaged as e:
            last = []
            lines.append(f"  decisions: DAMAGED: {str(e).removeprefix(f'model {name}: ')}")
            damaged_count += 1
        for d in last:
            lines.append(
                f"  last gate decision: {'accepted' if d['accepted'] else 'refused'} {d['candidate']}: {d['reason']}"
            )
    if damaged_count:
        lines += [
            "",
            f"{damaged_count} damaged (marked DAMAGED); `ctrflow models --check` also compares every "
            f"version's files with its manifest",
        ]
    return "\n".join(lines)


def _version_line(v, champ) -> str:
    mark = "*" if champ and v.version == champ.version else " "
    metrics = "  ".join(f"{k} {v.metrics[k]:.4f}" for k in SHOWN if isinstance(v.metrics.get(k), float))
    return f"{mark} {v.version:<8} {v.kind:<12} {v.eval_ds or '-':<11} {v.created_at:<26} {metrics}"


def describe_check(location: str, results: list[ModelCheck]) -> str:
    """One line per version: ok (n files), no manifest, or DAMAGED with the files missing or changed."""
    if not results:
        return f"no models registered under {location}"
    lines = [f"registry: {location}"]
    counts = {"ok": 0, "no manifest": 0, "damaged": 0}
    for model in results:
        lines += ["", model.name]
        for v in model.versions:
            counts[v.status] += 1
            if v.status == "ok":
                lines.append(f"  {v.version:<8} ok ({v.files} files)")
            elif v.status == "no manifest":
                lines.append(f"  {v.version:<8} no manifest (registered before checksums): not verified")
            elif len(v.problems) == 1:
                lines.append(f"  {v.version:<8} DAMAGED: {v.problems[0]}")
            else:
                lines.append(f"  {v.version:<8} DAMAGED: {len(v.problems)} files differ from the manifest")
                lines += [f"  {'':<8}   {p}" for p in v.problems]
        lines += [f"  DAMAGED: {p}" for p in model.problems]
    model_problems = sum(len(m.problems) for m in results)
    lines += [
        "",
        f"{counts['ok']} ok, {counts['damaged']} damaged, {counts['no manifest']} without a manifest"
        + (f"; {model_problems} damaged champion or decision files" if model_problems else ""),
    ]
    return "\n".join(lines)
