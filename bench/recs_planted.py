"""The recs world's planted ranking headroom, numpy only (no Spark): hit@10 of a held-out day's clicks for
the affinity order (ANN stand-in), its top 200 re-ranked by the planted P(click), and the ceiling.

    PYTHONPATH=. .venv/bin/python bench/recs_planted.py ['{"rows": 1500000, "max_users": 3000, "quality_scale": 1.4}']

The JSON holds rows, max_users and any RecsSettings key (users=100000, items=50000 unless given)."""

import json
import sys
import time

import numpy as np

from pipelines.settings.synth import RecsSettings
from pipelines.synth.recs import RecsWorld
from pipelines.synth.recs_hits import measure

kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
rows = kw.pop("rows", 1_500_000)
mu = kw.pop("max_users", 3000)
s = RecsSettings(**{"users": 100_000, "items": 50_000, **kw})
t = time.time()
w = RecsWorld.build(7, s)
print("world", round(time.time() - t, 1), "b", round(w.intercept, 2))
rng = np.random.default_rng([7, 1, 0])
us, its, cl = [], [], []
for _block in range(0, rows, 50_000):  # a held-out day (seed 7, ordinal 1) in 50k blocks
    u, i = w.draw(rng, 50_000)
    c = rng.random(50_000) < w.click_probability_idx(u, i)
    us.append(u[c])
    its.append(i[c])
    cl.append(c.mean())
cu, ci = np.concatenate(us), np.concatenate(its)
print("ctr", round(np.mean(cl), 4), "clicks", len(cu), "users w clicks", len(np.unique(cu)), round(time.time() - t, 1))
m = measure(w, cu, ci, max_users=mu)
print({k: round(v, 4) for k, v in m.items()}, round(time.time() - t, 1))
print("ratio rerank/affinity", round(m["rerank_truth_hit@10"] / m["affinity_hit@10"], 2))
