"""Profile `criteo_like`: Criteo's 40 columns with the marginals of real Criteo logs.

The figures are those of /shared/docs/REAL_DATA_SHAPES.md (the first 10,000 rows of the Criteo Kaggle
display-advertising train set): per integer column its missing rate and quantiles, per categorical
column its missing rate, top value share, and distinct values and singletons in 10k rows. Columns that
are missing together in the real data are missing together here.
"""

from __future__ import annotations

from pipelines.synth.profile import ShapedProfile
from pipelines.synth.shapes import CatShape, IntShape, MissingGroups

POSITIVE_RATE = 0.218

#        name   missing  min  p50     p90     p99      max
INTS = [
    IntShape(*row)
    for row in [
        ("I1", 0.448, 0, 1, 8, 44, 214),
        ("I2", 0.000, -2, 3, 191, 2225, 18522),
        ("I3", 0.203, 0, 7, 52, 306, 65535),
        ("I4", 0.197, 0, 4, 20, 44, 280),
        ("I5", 0.049, 0, 2469, 32425, 308415, 1618112),
        ("I6", 0.251, 0, 40, 335, 1730, 12167),
        ("I7", 0.049, 0, 3, 30, 191, 1658),
        ("I8", 0.001, 0, 7, 35, 48, 682),
        ("I9", 0.049, 0, 41, 308, 1215, 7335),
        ("I10", 0.448, 0, 0, 1, 3, 6),
        ("I11", 0.049, 0, 1, 5, 22, 79),
        ("I12", 0.774, 0, 0, 2, 14, 98),
        ("I13", 0.197, 0, 5, 27, 74, 770),
    ]
]

#        name   missing  distinct singletons top share (of non-missing values)
CATS = [
    CatShape(*row)
    for row in [
        ("C1", 0.000, 179, 94, 0.499),
        ("C2", 0.000, 388, 72, 0.123),
        ("C3", 0.036, 5610, 4895, 0.048),
        ("C4", 0.036, 4102, 3189, 0.075),
        ("C5", 0.000, 56, 20, 0.666),
        ("C6", 0.134, 7, 0, 0.530),
        ("C7", 0.000, 3212, 1624, 0.010),
        ("C8", 0.000, 94, 42, 0.589),
        ("C9", 0.000, 3, 0, 0.887),
        ("C10", 0.000, 3024, 1911, 0.275),
        ("C11", 0.000, 2099, 842, 0.020),
        ("C12", 0.036, 5369, 4635, 0.048),
        ("C13", 0.000, 1735, 622, 0.022),
        ("C14", 0.000, 24, 1, 0.363),
        ("C15", 0.000, 2052, 975, 0.019),
        ("C16", 0.036, 4801, 3991, 0.048),
        ("C17", 0.000, 9, 0, 0.431),
        ("C18", 0.000, 1157, 447, 0.051),
        ("C19", 0.449, 551, 296, 0.601),
        ("C20", 0.449, 3, 0, 0.363),
        ("C21", 0.036, 5117, 4359, 0.048),
        ("C22", 0.818, 7, 1, 0.525),
        ("C23", 0.000, 13, 1, 0.452),
        ("C24", 0.036, 2562, 1764, 0.077),
        ("C25", 0.449, 39, 6, 0.328),
        ("C26", 0.449, 1972, 1379, 0.083),
    ]
]

MISSING_GROUPS = MissingGroups(
    {
        "i_rare": (0.448, ["I1", "I10"]),
        "i_counts": (0.049, ["I5", "I7", "I9", "I11"]),
        "i_mid": (0.197, ["I4", "I13"]),
        "c_late": (0.449, ["C19", "C20", "C25", "C26"]),
        "c_ids": (0.036, ["C3", "C4", "C12", "C16", "C21", "C24"]),
    }
)

# Fields whose values recur often enough for a pairwise effect to be learnable: every pair among them
# carries a planted low-rank interaction (what FM / DeepFM / DCN can find and a one-hot LR cannot).
INTERACTING = ["C1", "C2", "C5", "C6", "C8", "C9", "C14", "C17", "C19", "C20", "C23", "C25"]


def profile(seed: int, positive_rate: float | None = None) -> ShapedProfile:
    return ShapedProfile.build(
        name="criteo_like",
        seed=seed,
        label="label",
        positive_rate=positive_rate or POSITIVE_RATE,
        ints=INTS,
        cats=CATS,
        missing=MISSING_GROUPS,
        interacting=INTERACTING,
    )
