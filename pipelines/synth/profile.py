"""A generator profile shaped like real logs, drawn from a planted model whose ceiling is known.

`ShapedProfile` draws a day block by block (numpy over whole columns): count columns from their
measured quantiles (`IntShape`), categoricals as a dominant head value plus a power-law tail fitted to
the measured distinct / singleton counts (`CatShape`), missing values in their correlated groups, an
optional hour column (YYMMDDHH, with a daily cycle) and an optional unique row id. The label is drawn
from a planted logistic model of the stored features only, so `truth(batch)` scores stored rows again
and gives the ceiling any trained model can reach. The planted model has:
- a main effect per categorical value (the head value too) and per count column (a slope on the
  standardised log count, a step above a threshold, an effect of being missing);
- low-rank pairwise interactions among the `interacting` fields (value vectors of dimension 4, as an
  FM would learn them; a one-hot LR cannot);
- count x categorical slopes and joint count thresholds (what trees find);
- a daily cycle on the hour column when there is one.
Every parameter is a function of the seed; the intercept is calibrated to the positive rate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.synth.codes import hashed_normal, hex8_array, mix64, parse_hex8, permute32, unpermute32
from pipelines.synth.planted import calibrate_intercept
from pipelines.synth.shapes import CatShape, IntShape, MissingGroups, power_cdf, power_ranks

LATENT_DIM = 4
POPULARITY_P0 = 2e-5  # values rarer than ~4 rows in 200k have damped effects
_MISSING_CODE = np.uint64(0xFFFFFFFFFF)  # a missing categorical value has an effect of its own


@dataclass(frozen=True)
class Effects:
    """The planted model's parameters (all drawn from the seed)."""

    cat_scale: np.ndarray  # (C,) std of a categorical value's main effect
    int_mu: np.ndarray  # (I,) mean of log1p(x - min) (for standardising)
    int_sd: np.ndarray  # (I,)
    int_slope: np.ndarray  # (I,)
    int_step: np.ndarray  # (I,)
    int_threshold: np.ndarray  # (I,) in raw units
    int_missing_effect: np.ndarray  # (I,)
    latent_fields: np.ndarray  # indices into the categorical columns
    latent_scale: float
    num_cat: np.ndarray  # (Q, 2) (count column, categorical column)
    num_num: np.ndarray  # (R, 2)
    num_num_sign: np.ndarray  # (R,)
    interaction_scale: float
    hour_amplitude: float
    hour_phase: float


@dataclass(frozen=True)
class ShapedProfile:
    name: str
    seed: int
    label: str
    positive_rate: float
    ints: tuple[IntShape, ...]
    cats: tuple[CatShape, ...]
    missing: MissingGroups
    tails: tuple[tuple[int, float, float], ...]  # fitted (K, s, q) per categorical, computed once
    int_cats: frozenset[str]  # categoricals stored as small integers (others as 8 hex digits)
    columns: tuple[str, ...]  # stored column order
    hour_column: str | None
    id_column: str | None
    effects: Effects
    intercept: float = 0.0

    @classmethod
    def build(
        cls,
        *,
        name: str,
        seed: int,
        label: str,
        positive_rate: float,
        ints: list[IntShape],
        cats: list[CatShape],
        missing: MissingGroups,
        interacting: list[str],
        int_cats: list[str] = (),
        columns: list[str] | None = None,
        hour_column: str | None = None,
        id_column: str | None = None,
        main_effect_scale: float = 0.35,
        interaction_scale: float = 0.35,
        latent_scale: float = 1.0,
    ) -> ShapedProfile:
        rng = np.random.default_rng([seed, 0x5AFE])
        n_i, n_c = len(ints), len(cats)
        names = [c.name for c in cats]
        default_cols = [
            *([id_column] if id_column else []),
            label,
            *([hour_column] if hour_column else []),
            *(i.name for i in ints),
            *names,
        ]
        pilot = np.random.default_rng([seed, 0xD15C])
        logs = np.stack([np.log1p(i.sample(pilot, 20_000) - i.lo) for i in ints], axis=1) if ints else np.zeros((1, 0))
        latent = np.array([names.index(f) for f in interacting], dtype=np.int64)
        recurring = np.flatnonzero([c.distinct < 2_000 for c in cats])
        effects = Effects(
            cat_scale=main_effect_scale * rng.uniform(0.3, 1.3, n_c),
            int_mu=logs.mean(axis=0),
            int_sd=np.maximum(logs.std(axis=0), 1e-3),
            int_slope=rng.normal(0.0, 0.3, n_i),
            int_step=rng.normal(0.0, 0.3, n_i),
            int_threshold=np.array([i.quantile(np.array([rng.uniform(0.6, 0.95)]))[0] for i in ints]),
            int_missing_effect=rng.normal(0.0, 0.2, n_i),
            latent_fields=latent,
            latent_scale=latent_scale / np.sqrt(max(len(latent) * (len(latent) - 1) / 2, 1)),
            num_cat=np.stack([rng.choice(n_i, 3), rng.choice(recurring, 3)], axis=1) if n_i else np.zeros((0, 2), int),
            num_num=(
                np.array([rng.choice(n_i, 2, replace=False) for _ in range(3)]) if n_i > 1 else np.zeros((0, 2), int)
            ),
            num_num_sign=rng.choice([-1.0, 1.0], 3),
            interaction_scale=interaction_scale,
            hour_amplitude=0.25 if hour_column else 0.0,
            hour_phase=rng.uniform(0, 2 * np.pi),
        )
        profile = cls(
            name=name,
            seed=seed,
            label=label,
            positive_rate=positive_rate,
            ints=tuple(ints),
            cats=tuple(cats),
            missing=missing,
            tails=tuple(c.tail() for c in cats),
            int_cats=frozenset(int_cats),
            columns=tuple(columns or default_cols),
            hour_column=hour_column,
            id_column=id_column,
            effects=effects,
        )
        z = profile.logit(*profile.draw(np.random.default_rng([seed, 0xCA11B]), 100_000)[:3])
        return cls(**{**profile.__dict__, "intercept": calibrate_intercept(z, positive_rate)})

    # -- storage -----------------------------------------------------------------------------------
    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c, self._arrow_type(c), nullable=c != self.label) for c in self.columns])

    @property
    def spark_ddl(self) -> str:
        spark = {pa.int32(): "int", pa.string(): "string"}
        return ", ".join(f"{c} {spark[self._arrow_type(c)]}" for c in self.columns)

    def _arrow_type(self, col: str) -> pa.DataType:
        if col == self.id_column or (col not in self.int_cats and col in {c.name for c in self.cats}):
            return pa.string()
        return pa.int32()

    def _salt(self, j: int) -> np.uint64:
        return mix64(np.array([self.seed * 1000 + j], dtype=np.uint64))[0] & np.uint64(0xFFFFFFFF)

    def _cat_code(self, j: int, ranks: np.ndarray) -> np.ndarray:
        """Stored value of rank r of categorical j: 8 hex digits of an invertible salted mix of r, or
        a small integer; either way the planted model can tell the rank (and so the popularity) back."""
        if self.cats[j].name in self.int_cats:
            return (ranks + 1 + 100 * j).astype(np.uint64)
        return permute32(ranks.astype(np.uint64) ^ self._salt(j))

    def _cat_rank(self, j: int, codes: np.ndarray) -> np.ndarray:
        if self.cats[j].name in self.int_cats:
            return codes.astype(np.int64) - 1 - 100 * j
        return (unpermute32(codes) ^ self._salt(j)).astype(np.int64)

    def _popularity_weight(self, j: int, codes: np.ndarray) -> np.ndarray:
        """sqrt(p / (p + P0)) of each value's probability p: a value seen a few times a day or less has a
        damped effect, so the planted signal sits where data can reveal it (missing values: 1)."""
        shape, (k, s, q) = self.cats[j], self.tails[j]
        rank = np.clip(self._cat_rank(j, codes), 0, k)
        tail = np.maximum(rank - 1.0, 0.0)
        p_tail = (1.0 - shape.top) * (power_cdf(tail + 2.0, k, s, q) - power_cdf(tail + 1.0, k, s, q))
        p = np.where(rank == 0, shape.top, np.maximum(p_tail, 0.0))
        return np.where(codes == _MISSING_CODE, 1.0, np.sqrt(p / (p + POPULARITY_P0)))

    # -- drawing -----------------------------------------------------------------------------------
    def draw(self, rng: np.random.Generator, n: int):
        """n rows of features: (ints (n, I) float/NaN, codes (n, C) uint64 / _MISSING_CODE, hour of day or None)."""
        rates = {**{i.name: i.missing for i in self.ints}, **{c.name: c.missing for c in self.cats}}
        masks = self.missing.masks(rng, n, rates)
        ints = np.empty((n, len(self.ints)))
        for k, shape in enumerate(self.ints):
            ints[:, k] = np.where(masks[shape.name], np.nan, shape.sample(rng, n))
        codes = np.empty((n, len(self.cats)), dtype=np.uint64)
        for j, (shape, (k, s, q)) in enumerate(zip(self.cats, self.tails, strict=True)):
            head = rng.random(n) < shape.top
            ranks = np.where(head, 0, power_ranks(rng.random(n), k, s, q) + 1)
            codes[:, j] = np.where(masks[shape.name], _MISSING_CODE, self._cat_code(j, ranks))
        hour = None
        if self.hour_column:  # more traffic in the evening than at night
            weights = 1.0 + 0.6 * np.sin(2 * np.pi * (np.arange(24) - 9) / 24)
            hour = rng.choice(24, n, p=weights / weights.sum())
        return ints, codes, hour, rng

    def logit(self, ints: np.ndarray, codes: np.ndarray, hour: np.ndarray | None) -> np.ndarray:
        e, n = self.effects, len(codes)
        z = np.full(n, self.intercept)
        keys = codes ^ (np.uint64(self.seed) << np.uint64(44))
        weight = np.stack([self._popularity_weight(j, codes[:, j]) for j in range(len(self.cats))], axis=1)
        for j in range(len(self.cats)):
            z += e.cat_scale[j] * weight[:, j] * hashed_normal((keys[:, j] << np.uint64(8)) ^ np.uint64(j))
        if len(self.ints):
            missing = np.isnan(ints)
            lo = np.array([i.lo for i in self.ints], dtype=np.float64)
            x = np.where(missing, lo, ints)
            std = (np.log1p(x - lo) - e.int_mu) / e.int_sd
            z += np.where(missing, e.int_missing_effect, e.int_slope * std + e.int_step * (x > e.int_threshold)).sum(1)
            g = e.interaction_scale
            for i, j in e.num_cat:
                slope = weight[:, j] * hashed_normal((keys[:, j] << np.uint64(8)) ^ np.uint64(200 + j))
                z += g * 0.6 * slope * np.where(missing[:, i], 0.0, std[:, i])
            for (i, k), sign in zip(e.num_num, e.num_num_sign, strict=True):
                z += g * 1.5 * sign * ((x[:, i] > e.int_threshold[i]) & (x[:, k] > e.int_threshold[k]))
        if len(e.latent_fields):  # sum over pairs of <u_a, u_b> = (|sum u|^2 - sum |u|^2) / 2
            vecs = np.stack(
                [
                    weight[:, j, None]
                    * np.stack(
                        [
                            hashed_normal((keys[:, j] << np.uint64(8)) ^ np.uint64(64 + 4 * j + d))
                            for d in range(LATENT_DIM)
                        ],
                        axis=1,
                    )
                    for j in e.latent_fields
                ],
                axis=1,
            )
            pair_sum = 0.5 * ((vecs.sum(axis=1) ** 2).sum(axis=1) - (vecs**2).sum(axis=(1, 2)))
            z += e.latent_scale * pair_sum / np.sqrt(LATENT_DIM)
        if hour is not None:
            z += e.hour_amplitude * np.sin(2 * np.pi * hour / 24 + e.hour_phase)
        return z

    def predict(self, ints, codes, hour) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(ints, codes, hour)))

    def block_batch(self, ds: dt.date, block: int, n: int) -> pa.RecordBatch:
        """Rows of one block of day ds (deterministic in seed, ds, block)."""
        ints, codes, hour, rng = self.draw(np.random.default_rng([self.seed, ds.toordinal(), block]), n)
        label = (rng.random(n) < self.predict(ints, codes, hour)).astype(np.int32)
        arrays: dict[str, pa.Array] = {self.label: pa.array(label)}
        for k, shape in enumerate(self.ints):
            miss = np.isnan(ints[:, k])
            arrays[shape.name] = pa.array(np.where(miss, 0, ints[:, k]).astype(np.int32), mask=miss)
        for j, shape in enumerate(self.cats):
            miss = codes[:, j] == _MISSING_CODE
            if shape.name in self.int_cats:
                arrays[shape.name] = pa.array(codes[:, j].astype(np.int32), mask=miss)
            else:
                arrays[shape.name] = hex8_array(codes[:, j].astype(np.uint32), miss)
        if self.hour_column:
            day = (ds.year % 100) * 1_000_000 + ds.month * 10_000 + ds.day * 100
            arrays[self.hour_column] = pa.array((day + hour).astype(np.int32))
        if self.id_column:
            # unique per (ds, block, row) for block_rows < 2^21: a bijection of distinct keys
            key = (np.uint64(ds.toordinal()) << np.uint64(42)) ^ (np.uint64(block) << np.uint64(21))
            ids = mix64((key ^ np.arange(n, dtype=np.uint64)) ^ mix64(np.array([self.seed], dtype=np.uint64))[0])
            arrays[self.id_column] = pa.array(ids, type=pa.uint64()).cast(pa.string())
        return pa.RecordBatch.from_arrays([arrays[c] for c in self.columns], schema=self.arrow_schema)

    def features(self, batch: pa.RecordBatch):
        """Stored columns back to the planted model's inputs (the inverse of block_batch)."""
        n = batch.num_rows
        ints = (
            np.column_stack([batch.column(i.name).to_numpy(zero_copy_only=False).astype(np.float64) for i in self.ints])
            if self.ints
            else np.zeros((n, 0))
        )
        codes = np.empty((n, len(self.cats)), dtype=np.uint64)
        for j, shape in enumerate(self.cats):
            col = batch.column(shape.name)
            if shape.name in self.int_cats:
                miss = np.asarray(col.is_null(), dtype=bool)
                vals = col.to_numpy(zero_copy_only=False)
                codes[:, j] = np.where(miss, _MISSING_CODE, np.nan_to_num(vals).astype(np.uint64))
            else:
                parsed, miss = parse_hex8(col)
                codes[:, j] = np.where(miss, _MISSING_CODE, parsed.astype(np.uint64))
        hour = None
        if self.hour_column:
            hour = batch.column(self.hour_column).to_numpy(zero_copy_only=False).astype(np.int64) % 100
        return ints, codes, hour

    def truth(self, batch: pa.RecordBatch) -> np.ndarray:
        return self.predict(*self.features(batch))
