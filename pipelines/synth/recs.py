"""Profile `recs`: impressions of items to users, with ids, and clicks from a planted model.

A world of `recs.users` users and `recs.items` items (synth.yml's `recs:` section). Every attribute of a
user is a pure function of (seed, user index) and every attribute of an item of (seed, item index, the
brand count), so executors recompute the world cheaply (cached per process) and never ship it.

- Users: u_segment (8 values), u_region (30, Zipf), u_activity (heavy-tailed, grows with how many
  impressions the user gets), u_age (10% null). A user's share of impressions is Pareto / Zipf with
  exponent `user_skew` (the top 1% of users hold far more than 1% of the rows).
- Items: i_category (`categories`, skewed sizes), i_brand (max(8, items / 250) brands, Zipf), i_price
  (cents, log-normal around a per-category level), i_age_days (exponential), a popularity within the
  category (rank^-item_skew) and a quality (a brand effect + the item's own noise, std `quality_scale`).
- Exposure (the logging policy): a user's preference over categories is a softmax of their segment's
  profile plus their own noise; an impression draws the user (by share), a category from the user's
  preference, an item of that category by popularity. `exposure(u, i)` is that probability: what a
  retrieval model trained on logged pairs can learn (and the stand-in for ANN order in the benchmark).
- Click given shown: sigmoid(intercept + quality + cross_scale * (segment x category + region x brand
  group) + small activity / price effects + 0.3 * affinity), the crosses independent of the exposure
  profile. `click_probability(user_ids, item_ids)` is that probability for any pairs (the ceiling
  ranker); `truth(batch)` for stored rows.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.settings.synth import RecsSettings
from pipelines.synth.codes import hashed_normal, mix64
from pipelines.synth.planted import calibrate_intercept

POSITIVE_RATE = 0.08
SEGMENTS, REGIONS, BRAND_GROUPS = 8, 30, 10
AGE_MISSING = 0.10
LABEL = "click"
USER_COLUMNS = ["user_id", "u_segment", "u_region", "u_activity", "u_age"]
ITEM_COLUMNS = ["item_id", "i_category", "i_brand", "i_price", "i_age_days"]
COLUMNS = [LABEL, *USER_COLUMNS, *ITEM_COLUMNS]
_INT_COLUMNS = {LABEL, "u_activity", "u_age", "i_price", "i_age_days"}
ARROW_SCHEMA = pa.schema(
    [pa.field(c, pa.int32() if c in _INT_COLUMNS else pa.string(), nullable=c == "u_age") for c in COLUMNS]
)
SPARK_DDL = ", ".join(f"{c} {'int' if c in _INT_COLUMNS else 'string'}" for c in COLUMNS)
_DIGITS = 7
_POW10 = 10 ** np.arange(_DIGITS - 1, -1, -1, dtype=np.int64)


def id_array(prefix: str, idx: np.ndarray) -> pa.Array:
    """Indices -> Arrow strings `<prefix><7 digits>` (u0000123), built from one byte buffer."""
    idx = np.asarray(idx, dtype=np.int64)
    n = len(idx)
    chars = np.empty((n, _DIGITS + 1), dtype=np.uint8)
    chars[:, 0] = ord(prefix)
    chars[:, 1:] = (idx[:, None] // _POW10) % 10 + ord("0")
    offsets = np.arange(0, (_DIGITS + 1) * (n + 1), _DIGITS + 1, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def parse_ids(prefix: str, ids, limit: int) -> np.ndarray:
    """Arrow / numpy strings `<prefix><7 digits>` -> indices; ValueError on another shape or an index >= limit."""
    arr = ids if isinstance(ids, pa.Array | pa.ChunkedArray) else pa.array(np.asarray(ids, dtype=object), pa.string())
    ok = pc.match_substring_regex(arr, f"^{prefix}[0-9]{{{_DIGITS}}}$")
    if arr.null_count or not pc.all(ok).as_py():
        bad = arr.filter(pc.invert(pc.fill_null(ok, False))) if not arr.null_count else pa.array(["null"])
        raise ValueError(f"expected ids like {prefix}0000123, got {bad[0]!r}")
    idx = pc.cast(pc.utf8_slice_codeunits(arr, 1), pa.int64()).to_numpy(zero_copy_only=False)
    if len(idx) and idx.max() >= limit:
        raise ValueError(f"id {prefix}{idx.max():0{_DIGITS}d} is outside this world ({limit} ids)")
    return idx


def _labels(prefix: str, values: np.ndarray, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(values.astype(str), width))


@dataclass(frozen=True, eq=False)
class RecsWorld:
    """Users' and items' attributes, the exposure policy and the planted click model of one seed."""

    seed: int
    settings: RecsSettings
    # users (arrays indexed by user index)
    u_segment: np.ndarray
    u_region: np.ndarray
    u_activity: np.ndarray
    u_age: np.ndarray  # float, NaN = missing
    user_cdf: np.ndarray  # cumulative share of impressions
    preference: np.ndarray  # (U, C) P(category | user)
    # items
    i_category: np.ndarray
    i_brand: np.ndarray
    i_price: np.ndarray
    i_age_days: np.ndarray
    popularity: np.ndarray  # P(item | its category)
    quality: np.ndarray  # log-odds effect of the item itself
    by_category: np.ndarray  # item indices sorted by category
    category_cdf: np.ndarray  # category + cumulative popularity within it, aligned with by_category
    # the click model
    seg_cat: np.ndarray  # (SEGMENTS, C)
    region_group: np.ndarray  # (REGIONS, BRAND_GROUPS)
    act_mu: float
    act_sd: float
    price_mu: float
    price_sd: float
    intercept: float

    @classmethod
    def build(cls, seed: int, settings: RecsSettings, positive_rate: float = POSITIVE_RATE) -> RecsWorld:
        return _cached_world(seed, settings, positive_rate)

    @property
    def brands(self) -> int:
        return max(8, round(self.settings.items / 250))

    # -- exposure ----------------------------------------------------------------------------------
    def draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """n impressions (user index, item index) of the logging policy."""
        users = np.minimum(np.searchsorted(self.user_cdf, rng.random(n), side="right"), len(self.user_cdf) - 1)
        cum = np.cumsum(self.preference[users], axis=1)
        cat = np.minimum((cum < rng.random(n)[:, None] * cum[:, -1:]).sum(axis=1), cum.shape[1] - 1)
        pos = np.searchsorted(self.category_cdf, cat + rng.random(n), side="right")
        pos = np.clip(pos, np.searchsorted(self.category_cdf, cat, side="left"), len(self.by_category) - 1)
        return users, self.by_category[pos]

    def exposure(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """P(item | user) of the logging policy (broadcasts: users[:, None] with items[None, :] works)."""
        return self.preference[users, self.i_category[items]] * self.popularity[items]

    # -- clicks ------------------------------------------------------------------------------------
    def logit(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        s, cat = self.settings, self.i_category[items]
        act = (np.log1p(self.u_activity[users]) - self.act_mu) / self.act_sd
        price = (np.log(self.i_price[items]) - self.price_mu) / self.price_sd
        affinity = np.log(self.preference[users, cat] * self.preference.shape[1] + 1e-9)
        cross = 0.8 * self.seg_cat[self.u_segment[users], cat]
        cross = cross + 0.6 * self.region_group[self.u_region[users], self.i_brand[items] % BRAND_GROUPS]
        return (
            self.intercept
            + self.quality[items]
            + s.cross_scale * cross
            + 0.15 * act
            - 0.2 * price
            + 0.3 * np.clip(affinity, -3.0, 3.0)
        )

    def click_probability_idx(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Planted P(click | shown) for user / item indices (broadcasting shapes)."""
        return 1.0 / (1.0 + np.exp(-self.logit(np.asarray(users), np.asarray(items))))

    def click_probability(self, user_ids, item_ids) -> np.ndarray:
        """Planted P(click | shown) of (user_id, item_id) pairs: string arrays (u0000123, i0004567) in."""
        users, items = self.user_index(user_ids), self.item_index(item_ids)
        if users.shape != items.shape:
            raise ValueError(f"user_ids and item_ids differ in length ({len(users)} vs {len(items)})")
        return self.click_probability_idx(users, items)

    def user_index(self, user_ids) -> np.ndarray:
        return parse_ids("u", user_ids, len(self.u_segment))

    def item_index(self, item_ids) -> np.ndarray:
        return parse_ids("i", item_ids, len(self.i_category))

    # -- storage -----------------------------------------------------------------------------------
    def batch(self, users: np.ndarray, items: np.ndarray, click: np.ndarray) -> pa.RecordBatch:
        age_missing = np.isnan(self.u_age[users])
        arrays = [
            pa.array(click.astype(np.int32)),
            id_array("u", users),
            pa.array(_labels("seg", self.u_segment[users], 1)),
            pa.array(_labels("r", self.u_region[users], 2)),
            pa.array(self.u_activity[users].astype(np.int32)),
            pa.array(np.nan_to_num(self.u_age[users]).astype(np.int32), mask=age_missing),
            id_array("i", items),
            pa.array(_labels("cat", self.i_category[items], 2)),
            pa.array(_labels("b", self.i_brand[items], 4)),
            pa.array(self.i_price[items].astype(np.int32)),
            pa.array(self.i_age_days[items].astype(np.int32)),
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=ARROW_SCHEMA)


def _uniform(base: np.uint64, idx: np.ndarray, salt: int) -> np.ndarray:
    """A uniform (0, 1) value per index, a pure function of (seed, index, salt)."""
    h = mix64(base ^ (np.asarray(idx, dtype=np.uint64) << np.uint64(12)) ^ np.uint64(salt))
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53


def _normal(base: np.uint64, idx: np.ndarray, salt: int) -> np.ndarray:
    return hashed_normal(base ^ (np.asarray(idx, dtype=np.uint64) << np.uint64(12)) ^ np.uint64(salt))


def _zipf_pick(u: np.ndarray, k: int, s: float) -> np.ndarray:
    """Values in [0, k) with P(r) ~ (r + 1)^-s, from uniforms."""
    cdf = np.cumsum(np.arange(1, k + 1, dtype=np.float64) ** -s)
    return np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), k - 1)


@functools.lru_cache(maxsize=4)
def _cached_world(seed: int, s: RecsSettings, positive_rate: float) -> RecsWorld:
    base = mix64(np.array([seed, 0x2EC5], dtype=np.uint64))[0]
    rng = np.random.default_rng([seed, 0x2EC5])
    n_cat, brands = s.categories, max(8, round(s.items / 250))
    u, i = np.arange(s.users), np.arange(s.items)

    # items: category sizes skewed in a seed-drawn order, popularity and quality within them
    cat_rank = rng.permutation(n_cat)
    i_category = cat_rank[_zipf_pick(_uniform(base, i, 1), n_cat, 0.5)]
    i_brand = _zipf_pick(_uniform(base, i, 2), brands, 0.8)
    weight = _uniform(base, i, 3) ** -s.item_skew
    cat_price = rng.normal(0.0, 0.6, n_cat)
    i_price = np.maximum(1, np.round(np.exp(np.log(2500.0) + cat_price[i_category] + 0.6 * _normal(base, i, 4))))
    i_age_days = np.floor(-120.0 * np.log(_uniform(base, i, 5)))
    brand_effect = rng.normal(0.0, 1.0, brands)
    quality = s.quality_scale * (0.75 * brand_effect[i_brand] + 0.66 * _normal(base, i, 6))
    by_category = np.lexsort((-weight, i_category))
    cat_sum = np.bincount(i_category, weights=weight, minlength=n_cat)
    popularity = weight / cat_sum[i_category]
    sorted_cat = i_category[by_category]
    starts = np.searchsorted(sorted_cat, np.arange(n_cat))
    within = np.cumsum(popularity[by_category])
    within = within - np.concatenate([[0.0], within])[starts][sorted_cat]  # restart at each category
    category_cdf = sorted_cat + within

    # users: segment, region, share of impressions, activity, age, preference over categories
    u_segment = np.minimum((_uniform(base, u, 11) * SEGMENTS).astype(np.int64), SEGMENTS - 1)
    u_region = _zipf_pick(_uniform(base, u, 12), REGIONS, 1.0)
    share = _uniform(base, u, 13) ** -s.user_skew
    u_activity = np.maximum(0, np.floor(share * np.exp(0.6 * _normal(base, u, 14))) - 1)
    u_age = np.where(_uniform(base, u, 15) < AGE_MISSING, np.nan, 18 + np.floor(57 * _uniform(base, u, 16) ** 1.5))
    seg_pref = rng.normal(0.0, 1.5, (SEGMENTS, n_cat))
    noise = hashed_normal(
        base ^ (u[:, None].astype(np.uint64) << np.uint64(12)) ^ (64 + np.arange(n_cat)).astype(np.uint64)
    )
    logits = np.where(cat_sum > 0, seg_pref[u_segment] + 0.8 * noise, -np.inf)
    preference = np.exp(logits - logits.max(axis=1, keepdims=True))
    preference /= preference.sum(axis=1, keepdims=True)

    world = RecsWorld(
        seed=seed,
        settings=s,
        u_segment=u_segment,
        u_region=u_region,
        u_activity=u_activity,
        u_age=u_age,
        user_cdf=np.cumsum(share) / share.sum(),
        preference=preference,
        i_category=i_category,
        i_brand=i_brand,
        i_price=i_price,
        i_age_days=i_age_days,
        popularity=popularity,
        quality=quality,
        by_category=by_category,
        category_cdf=category_cdf,
        seg_cat=rng.normal(0.0, 1.0, (SEGMENTS, n_cat)),
        region_group=rng.normal(0.0, 1.0, (REGIONS, BRAND_GROUPS)),
        act_mu=float(np.log1p(u_activity).mean()),
        act_sd=float(max(np.log1p(u_activity).std(), 1e-3)),
        price_mu=float(np.log(i_price).mean()),
        price_sd=float(max(np.log(i_price).std(), 1e-3)),
        intercept=0.0,
    )
    users, items = world.draw(np.random.default_rng([seed, 0xCA11B]), 100_000)
    intercept = calibrate_intercept(world.logit(users, items), positive_rate)
    return RecsWorld(**{**world.__dict__, "intercept": intercept})


class RecsProfile:
    """The `recs` profile: the generator's face over a RecsWorld (rebuilt, not shipped, on executors)."""

    name, label, columns, arrow_schema, spark_ddl = "recs", LABEL, COLUMNS, ARROW_SCHEMA, SPARK_DDL

    def __init__(self, seed: int, settings: RecsSettings, positive_rate: float | None = None):
        self.seed, self.settings = seed, settings
        self.positive_rate = positive_rate or POSITIVE_RATE

    @functools.cached_property
    def world(self) -> RecsWorld:
        return RecsWorld.build(self.seed, self.settings, self.positive_rate)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "world"}

    @property
    def intercept(self) -> float:
        return self.world.intercept

    def block_batch(self, ds: dt.date, block: int, n: int) -> pa.RecordBatch:
        """Rows of one block of day ds (deterministic in seed, ds, block)."""
        rng = np.random.default_rng([self.seed, ds.toordinal(), block])
        users, items = self.world.draw(rng, n)
        click = rng.random(n) < self.world.click_probability_idx(users, items)
        return self.world.batch(users, items, click)

    def truth(self, batch: pa.RecordBatch) -> np.ndarray:
        return self.world.click_probability(batch.column("user_id"), batch.column("item_id"))


def profile(seed: int, settings: RecsSettings, positive_rate: float | None = None) -> RecsProfile:
    return RecsProfile(seed, settings, positive_rate)
