"""Regression alerts over training: primes whose accuracy fell substantially after they
had been reached (issue 13). The study saw p = 37 fall from 76% at 40k steps to 46% at
90k while larger primes improved ("grokking interference"). Also the epoch x prime
accuracy table the views draw.

"Substantially", by definition here: a prime is **reached** once its accuracy at some
checkpoint is at least REACH (0.6); it **regresses** when, at a later checkpoint, its
accuracy is at least DROP (0.2, absolute) below the best it had reached by then. Measured
on the sweep's per-prime accuracy over all p^2 pairs at each checkpoint (prime_sweep),
so one checkpoint suffices: a dip that recovers is still listed, with its trough.
"""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer

REACH = 0.6  # accuracy a prime must have reached before a fall counts
DROP = 0.2  # absolute fall below the best accuracy so far that counts as a regression


def regressions(accuracy: np.ndarray, epochs: np.ndarray, reach: float = REACH, drop: float = DROP) -> dict:
    """accuracy [epoch, prime] -> per prime: peak, worst fall after reaching, its epochs, alert.

    Returns {"peak", "drop", "peak_epoch", "trough_epoch", "alert_epoch", "alert"}, each [prime];
    epochs are NaN where there is none (alert_epoch: the first checkpoint whose fall reaches `drop`).
    """
    acc = np.nan_to_num(accuracy.astype(np.float64), nan=0.0)
    best = np.maximum.accumulate(acc, axis=0)  # [epoch, prime] best so far
    fall = np.where(best >= reach, best - acc, 0.0)
    worst = fall.argmax(0)  # [prime] checkpoint of the deepest fall
    cols = np.arange(acc.shape[1])
    peak_at = np.array([acc[: w + 1, c].argmax() for w, c in zip(worst, cols)])
    alert = fall.max(0) >= drop - 1e-9
    first = (fall >= drop - 1e-9).argmax(0)
    e = epochs.astype(np.float64)
    return {"peak": acc.max(0), "drop": fall.max(0), "peak_epoch": np.where(alert, e[peak_at], np.nan),
            "trough_epoch": np.where(alert, e[worst], np.nan), "alert_epoch": np.where(alert, e[first], np.nan),
            "alert": alert}


@register_analyzer("prime_regressions", kind="trajectory", scope="summary", requires=("prime_sweep",),
          markers=("regression_epoch",), headlines=("alerted_primes",), outputs={
              "epochs": ("epoch",), "primes": ("prime",), "group": ("prime",), "accuracy": ("epoch", "prime"),
              "group_accuracy": ("epoch", "group"), "peak": ("prime",), "drop": ("prime",),
              "peak_epoch": ("prime",), "trough_epoch": ("prime",), "alert": ("prime",), "alerted_primes": ("alert",),
              "reach": (), "drop_threshold": (), "regression_epoch": ()}, kinds={'peak_epoch': 'epoch', 'trough_epoch': 'epoch', 'regression_epoch': 'epoch'})
def prime_regressions(ctx) -> dict[str, np.ndarray]:
    """Primes that fell by >= 0.2 from a reached (>= 0.6) accuracy; the first such epoch is a marker."""
    sweep = ctx.artifacts("prime_sweep")
    found = regressions(sweep["accuracy"], ctx.epochs)
    alerts = np.flatnonzero(found["alert"])
    first = float(np.nanmin(found["alert_epoch"])) if alerts.size else np.nan
    return {"epochs": np.asarray(ctx.epochs, dtype=np.int64), "primes": sweep["primes"][-1],
            "group": sweep["group"][-1], "accuracy": sweep["accuracy"].astype(np.float32),
            "group_accuracy": sweep["group_accuracy"].astype(np.float32),
            "peak": found["peak"].astype(np.float32), "drop": found["drop"].astype(np.float32),
            "peak_epoch": found["peak_epoch"], "trough_epoch": found["trough_epoch"], "alert": found["alert"],
            "alerted_primes": sweep["primes"][-1][alerts].astype(np.int64), "reach": np.array(REACH),
            "drop_threshold": np.array(DROP), "regression_epoch": np.array(first)}
