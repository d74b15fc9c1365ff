"""The planted ground-truth CTR model behind the synthetic logs.

Every parameter is a deterministic function of the seed. A row's true log-odds is a function of its
observed features only (integer values and the 8-hex-digit codes of its categorical values), so the
model can score stored rows again: its AUC / logloss on a day is the ceiling any trained model can
reach. Besides main effects it plants interactions that a linear model over one-hot features cannot
represent: categorical x categorical crosses, numeric x categorical slopes and numeric thresholds
(so tree-leaf features and deep models have something to find that plain LR does not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.settings.synth import N_CAT, N_INT, SynthSettings
from pipelines.synth.codes import hashed_normal, mix64

_INT32_MAX = 2**31 - 2
PLANTED_POSITIVE_RATE = 0.2  # synth.positive_rate when it is null


@dataclass(frozen=True)
class PlantedModel:
    seed: int
    intercept: float
    cat_salt: np.ndarray  # (26,) uint64: value code of field j = mix64(salt_j ^ rank)
    cat_scale: np.ndarray  # (26,) std of the main effect of a value of field j
    int_mu: np.ndarray  # (13,) lognormal location
    int_sigma: np.ndarray  # (13,) lognormal scale
    int_shift: np.ndarray  # (13,) subtracted so that some fields go negative, as in Criteo
    int_slope: np.ndarray  # (13,) effect per unit of centred log1p(x)
    int_step: np.ndarray  # (13,) effect of x above its threshold
    int_threshold: np.ndarray  # (13,)
    int_missing_effect: np.ndarray  # (13,)
    cat_pairs: np.ndarray  # (P, 2) field indices crossed
    num_cat: np.ndarray  # (Q, 2) (integer field, categorical field): value-specific slopes
    num_num: np.ndarray  # (R, 2) integer fields with a joint threshold effect
    num_num_sign: np.ndarray  # (R,)
    interaction_scale: float

    @classmethod
    def from_settings(cls, s: SynthSettings) -> PlantedModel:
        rng = np.random.default_rng([s.seed, 0x5EED])
        card = np.array(s.scaled_cardinalities())
        # crosses among fields small enough that their pairs recur (else nothing could learn them)
        small = np.flatnonzero(card <= 20_000)
        pairs = [tuple(sorted(rng.choice(small, 2, replace=False))) for _ in range(6)]
        mu = rng.uniform(0.3, 3.5, N_INT)
        model = cls(
            seed=s.seed,
            intercept=0.0,
            cat_salt=rng.integers(1, 2**62, N_CAT, dtype=np.uint64),
            cat_scale=s.main_effect_scale * rng.uniform(0.3, 1.3, N_CAT),
            int_mu=mu,
            int_sigma=rng.uniform(0.7, 1.8, N_INT),
            int_shift=rng.choice([0, 0, 0, 1, 3], N_INT),
            int_slope=rng.normal(0.0, 0.25, N_INT),
            int_step=rng.normal(0.0, 0.35, N_INT),
            int_threshold=np.expm1(mu + 0.5),
            int_missing_effect=rng.normal(0.0, 0.2, N_INT),
            cat_pairs=np.array(pairs, dtype=np.int64),
            num_cat=np.stack([rng.choice(N_INT, 3, replace=False), rng.choice(small, 3, replace=False)], axis=1),
            num_num=np.array([rng.choice(N_INT, 2, replace=False) for _ in range(3)], dtype=np.int64),
            num_num_sign=rng.choice([-1.0, 1.0], 3),
            interaction_scale=s.interaction_scale,
        )
        pilot = generate_features(model, s, np.random.default_rng([s.seed, 0xCA11B]), 100_000)
        return model._with_intercept(calibrate_intercept(model.logit(*pilot), s.positive_rate or PLANTED_POSITIVE_RATE))

    def _with_intercept(self, b: float) -> PlantedModel:
        return PlantedModel(**{**self.__dict__, "intercept": b})

    def _value_key(self, j: int | np.ndarray, codes: np.ndarray) -> np.ndarray:
        return (codes.astype(np.uint64) << np.uint64(8)) ^ (np.uint64(self.seed) << np.uint64(40)) ^ np.uint64(j)

    def logit(self, ints: np.ndarray, codes: np.ndarray, cat_missing: np.ndarray) -> np.ndarray:
        """True log-odds. ints: (n, 13) float with NaN for missing; codes: (n, 26) uint32; mask (n, 26)."""
        n = len(ints)
        z = np.full(n, self.intercept)
        missing_code = np.uint32(0xFFFFFFFF)  # a missing value has an effect of its own
        eff_codes = np.where(cat_missing, missing_code, codes)
        for j in range(N_CAT):
            z += self.cat_scale[j] * hashed_normal(self._value_key(j, eff_codes[:, j]))
        int_missing = np.isnan(ints)
        x = np.where(int_missing, 0.0, ints)
        lx = np.log1p(np.maximum(x, 0.0)) - self.int_mu
        z += np.where(
            int_missing, self.int_missing_effect, self.int_slope * lx + self.int_step * (x > self.int_threshold)
        ).sum(axis=1)
        g = self.interaction_scale
        for p, (a, b) in enumerate(self.cat_pairs):
            key = mix64(self._value_key(a, eff_codes[:, a])) ^ self._value_key(100 + b + p, eff_codes[:, b])
            z += g * hashed_normal(key)
        for i, j in self.num_cat:
            slope = hashed_normal(self._value_key(200 + j, eff_codes[:, j]))
            z += g * 0.6 * slope * np.where(int_missing[:, i], 0.0, lx[:, i] / self.int_sigma[i])
        for (i, k), sign in zip(self.num_num, self.num_num_sign, strict=True):
            z += g * 1.5 * sign * ((x[:, i] > self.int_threshold[i]) & (x[:, k] > self.int_threshold[k]))
        return z

    def predict(self, ints: np.ndarray, codes: np.ndarray, cat_missing: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(ints, codes, cat_missing)))


def calibrate_intercept(z: np.ndarray, rate: float) -> float:
    """Intercept b such that mean(sigmoid(z + b)) == rate (bisection; the mean is monotone in b)."""
    lo, hi = -30.0, 30.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(z + mid)))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _bounded_zipf(rng: np.random.Generator, k: int, s: float, n: int) -> np.ndarray:
    """Ranks in [0, k) with P(r) ~ (r + 1)^-s: inverse CDF of the continuous power law on [1, k + 1)."""
    u = rng.random(n)
    a = 1.0 - s
    x = ((np.power(k + 1.0, a) - 1.0) * u + 1.0) ** (1.0 / a)
    return np.minimum(np.floor(x).astype(np.int64) - 1, k - 1)


def generate_features(model: PlantedModel, s: SynthSettings, rng: np.random.Generator, n: int):
    """Draw n rows of features: (ints (n,13) float/NaN, codes (n,26) uint32, cat_missing (n,26) bool)."""
    ints = np.floor(np.exp(rng.normal(model.int_mu, model.int_sigma, (n, N_INT)))) - model.int_shift
    ints = np.minimum(ints, _INT32_MAX)
    ints[rng.random((n, N_INT)) < np.asarray(s.int_missing)] = np.nan
    card = s.scaled_cardinalities()
    codes = np.empty((n, N_CAT), dtype=np.uint32)
    for j in range(N_CAT):
        ranks = _bounded_zipf(rng, card[j], s.zipf_exponent, n).astype(np.uint64)
        codes[:, j] = (mix64(model.cat_salt[j] ^ ranks) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    cat_missing = rng.random((n, N_CAT)) < np.asarray(s.cat_missing)
    return ints, codes, cat_missing
