"""Inference across repetitions: a group's mean with its confidence
interval, and whether two groups differ.

Variance: every standard deviation it gives is the sample one (divisor n - 1).
Confidence intervals: mean +- t(0.975, n - 1) * std / sqrt(n), Student t from
scipy.stats; with one repetition the std and the interval are NaN.
Differences between two groups: compare gives Welch's t-test on their
repetitions and a bootstrap interval of the ratio of their means;
difference gives the difference of their means with its Welch interval.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 9999
BOOTSTRAP_SEED = 2022


def t_quantile(n: int) -> float:
    """Student t's two-sided CONFIDENCE quantile for n repetitions (n - 1
    degrees of freedom): half an interval is this times std / sqrt(n)."""
    return float(scipy.stats.t.ppf((1 + CONFIDENCE) / 2, n - 1))


@dataclass(frozen=True)
class Comparison:
    """Repetitions of a against those of b: the ratio of their means, its
    bootstrap interval and Welch's t-test. NaN where the repetitions cannot
    tell (fewer than two on a side, or no spread on either)."""
    ratio: float
    ratio_low: float
    ratio_high: float
    p_value: float

    @property
    def tested(self) -> bool:
        return not math.isnan(self.p_value)

    @property
    def apart(self) -> bool:
        """The difference is real at the 1 - CONFIDENCE level."""
        return self.tested and self.p_value < 1 - CONFIDENCE

    @property
    def higher(self) -> bool:
        return self.ratio > 1


def spread(values: np.ndarray) -> bool:
    """Whether values differ beyond rounding (values computed alike from
    equal inputs can differ in their last bits)."""
    return values.std() > 1e-12 * abs(values.mean())


def welch_p(a: np.ndarray, b: np.ndarray) -> float:
    """Welch's two-sided t-test of a against b (unequal variances)."""
    with warnings.catch_warnings():
        # One side without spread is a fine input to Welch's test; scipy
        # still warns of precision loss in that side's variance.
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        return float(scipy.stats.ttest_ind(a, b, equal_var=False).pvalue)


def compare(a, b) -> Comparison:
    """a's repetitions against b's: Welch's t-test (two-sided, unequal
    variances) and a percentile bootstrap interval of mean(a) / mean(b),
    resampled with a fixed seed so that the same data give the same report."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ratio = a.mean() / b.mean() if b.mean() else math.nan
    if min(len(a), len(b)) < 2 or not (spread(a) or spread(b)) or math.isnan(ratio):
        return Comparison(ratio, math.nan, math.nan, math.nan)
    p = welch_p(a, b)
    interval = scipy.stats.bootstrap(
        (a, b), lambda x, y, axis: x.mean(axis) / y.mean(axis), vectorized=True,
        confidence_level=CONFIDENCE, n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED)).confidence_interval
    return Comparison(float(ratio), float(interval.low), float(interval.high), float(p))


@dataclass(frozen=True)
class Difference:
    """mean(a) - mean(b) with its Welch interval (the t quantile at the
    Welch-Satterthwaite degrees of freedom) and Welch's p; NaN where the
    repetitions cannot tell."""
    mean: float
    low: float
    high: float
    p_value: float

    @property
    def apart(self) -> bool:
        return not math.isnan(self.p_value) and self.p_value < 1 - CONFIDENCE


def difference(a, b) -> Difference:
    """a's repetitions less b's, as a difference of their means."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    mean = a.mean() - b.mean()
    if min(len(a), len(b)) < 2 or not (spread(a) or spread(b)):
        return Difference(float(mean), math.nan, math.nan, math.nan)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(scipy.stats.t.ppf((1 + CONFIDENCE) / 2, dof)) * math.sqrt(va + vb)
    return Difference(float(mean), float(mean - half), float(mean + half), welch_p(a, b))


def mean_ci(values: pd.Series) -> dict[str, float]:
    """Mean, sample std and the two-sided 95 % Student t interval."""
    values = values.dropna()
    n = len(values)
    mean = values.mean() if n else math.nan
    if n < 2:
        return {"mean": mean, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    std = values.std(ddof=1)
    half = t_quantile(n) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def product(a: dict, b: dict) -> dict:
    """The product of two means measured apart (mean, ci_low, ci_high
    each; floats or Series alike) with its interval: their relative
    half-widths add in quadrature, written without a division so that a
    mean of 0 keeps an interval. NaN where either has none."""
    mean = a["mean"] * b["mean"]
    half_a, half_b = ((x["ci_high"] - x["ci_low"]) / 2 for x in (a, b))
    half = ((b["mean"] * half_a) ** 2 + (a["mean"] * half_b) ** 2) ** 0.5
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half}
