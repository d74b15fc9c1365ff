"""Profile `avazu_like`: Avazu's columns (id, click, hour, 21 categorical fields) with its marginals.

The figures are those of /shared/docs/REAL_DATA_SHAPES.md (the first 10,000 rows of the Avazu train
set): per field the distinct values and singletons in 10k rows and the top value's share. Ids and
domains are 8 hex digits, the anonymised C* fields, banner position and device type / connection are
small integers, as in Avazu's CSV; `id` is a 64-bit unsigned number (it overflows bigint: declare it
`string`), `hour` is YYMMDDHH.
"""

from __future__ import annotations

from pipelines.synth.profile import ShapedProfile
from pipelines.synth.shapes import CatShape, MissingGroups

POSITIVE_RATE = 0.171

#        name            missing  distinct singletons top share
CATS = [
    CatShape(*row)
    for row in [
        ("C1", 0.0, 6, 0, 0.926),
        ("banner_pos", 0.0, 4, 0, 0.805),
        ("site_id", 0.0, 381, 163, 0.358),
        ("site_domain", 0.0, 317, 130, 0.358),
        ("site_category", 0.0, 14, 3, 0.385),
        ("app_id", 0.0, 313, 141, 0.782),
        ("app_domain", 0.0, 31, 7, 0.831),
        ("app_category", 0.0, 14, 2, 0.789),
        ("device_id", 0.0, 1075, 969, 0.872),
        ("device_ip", 0.0, 7302, 6188, 0.009),
        ("device_model", 0.0, 1168, 504, 0.072),
        ("device_type", 0.0, 4, 0, 0.927),
        ("device_conn_type", 0.0, 4, 0, 0.905),
        ("C14", 0.0, 271, 78, 0.072),
        ("C15", 0.0, 4, 0, 0.953),
        ("C16", 0.0, 5, 0, 0.957),
        ("C17", 0.0, 111, 10, 0.391),
        ("C18", 0.0, 4, 0, 0.697),
        ("C19", 0.0, 32, 1, 0.566),
        ("C20", 0.0, 108, 23, 0.623),
        ("C21", 0.0, 29, 3, 0.391),
    ]
]
INT_CATS = [
    "C1",
    "banner_pos",
    "device_type",
    "device_conn_type",
    "C14",
    "C15",
    "C16",
    "C17",
    "C18",
    "C19",
    "C20",
    "C21",
]
COLUMNS = ["id", "click", "hour", *(c.name for c in CATS)]  # Avazu's CSV order
INTERACTING = [
    "C1",
    "banner_pos",
    "site_category",
    "app_category",
    "device_type",
    "device_conn_type",
    "C15",
    "C16",
    "C18",
    "C19",
    "C21",
    "app_domain",
]


def profile(seed: int, positive_rate: float | None = None) -> ShapedProfile:
    return ShapedProfile.build(
        name="avazu_like",
        seed=seed,
        label="click",
        positive_rate=positive_rate or POSITIVE_RATE,
        ints=[],
        cats=CATS,
        missing=MissingGroups(),
        interacting=INTERACTING,
        int_cats=INT_CATS,
        columns=COLUMNS,
        hour_column="hour",
        id_column="id",
        main_effect_scale=0.5,
        latent_scale=1.6,
    )
