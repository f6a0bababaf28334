"""The turn: where grokking's test-loss collapse begins (onset) and where it is steepest (midpoint).

Outputs, each a whole epoch at which the metrics were evaluated (NaN: no turn):
- turn_onset_epoch: where the collapse begins, the event that precedes the others;
- turn_midpoint_epoch: the steepest point of the collapse (half-way down a sigmoid);
- velocity_peak_epoch: diagnostic, the midpoint of the fastest checkpoint interval in the collapse;
- turn_epoch: the onset again, only for views that still read `turn.turn_epoch`.
Onset and midpoint are the analyzer's epoch markers (workbench.store.markers reads them).

Method (constants below). No step depends on the run's length: a run extended past its
collapse is smoothed identically except within 4 sigma of the old end, so onset and
midpoint do not move (before v3 the width was 2% of the run: 352 vs 325 on one run).
1. Cadence c: the spacing between evaluations that covers most of the epochs (extra
   evaluations at dense checkpoints do not change it). Interpolate log10(test loss) onto a
   grid of step c from the first evaluation and smooth it with a Gaussian of sigma
   SMOOTH_EVALS * c epochs: spikes and uneven spacing would otherwise dominate a derivative.
2. Memorization peak: the smoothed maximum. If the curve never falls MIN_DROP_DECADES below
   it afterwards, there is no turn.
3. Candidate midpoints: in every contiguous run of grid points after the peak whose slope is
   at least STEEP_FRAC of the steepest and whose loss is at its running minimum (so the
   recovery from a post-grokking loss spike, which only returns to known levels, does not
   count), the point of steepest slope. Slopes are taken on the linear loss (10**smoothed):
   in log space the late cleanup from ~1e-2 to ~1e-7 spans more decades than the collapse
   itself and would be picked instead (seen on the p=53 demo).
4. Midpoint: the steepest candidate; with several, the one nearest velocity_peak_epoch, the
   fastest checkpoint interval ‖Δθ‖/Δepoch (param_snapshot) inside the candidates'
   collapse stretches (step 5), so parameter motion decides between comparably steep descents.
5. Onset: the earliest grid epoch of the contiguous stretch ending at the midpoint over which
   the loss falls at least ONSET_FRAC of the midpoint's rate, i.e. where the fall first
   reaches 10% of its peak rate. On a logistic collapse L/(1 + exp((t - m)/w)) that is
   m - 2w·arccosh(√10) ≈ m - 3.64w, when 2.6% of the drop is done: still on the plateau
   by eye, and already leaving it.
6. Onset and midpoint snap to the nearest evaluation epoch (ties to the earlier).
Sources: Nanda et al. 2023 ("Progress measures for grokking via mechanistic
interpretability", §5.2): test loss collapses during the cleanup phase, which is when the
weights move fastest (step 4). The onset rule is ours (no source defines a collapse's onset):
the usual velocity-threshold onset, where motion starts when the rate first exceeds a fixed
fraction of its peak.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.ndimage import gaussian_filter1d

from analyzers.weight_trajectory import param_velocity
from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext

__all__ = ["Turn", "eval_cadence", "smoothed_log_loss", "estimate_turn", "turn", "turn_value"]

SMOOTH_EVALS = 2.0  # Gaussian sigma, in evaluation intervals (the cadence)
MIN_DROP_DECADES = 1.0  # a turn needs test loss to fall 10x below its peak
STEEP_FRAC = 0.5  # slope fraction of the steepest descent that counts as "steep"
ONSET_FRAC = 0.1  # the collapse starts where its rate first reaches this fraction of the midpoint's
NEW_LOW_TOL = 0.01  # decades above the running minimum that still count as new ground
ONSET, MIDPOINT = "turn_onset_epoch", "turn_midpoint_epoch"
NAN = float("nan")


class Turn(NamedTuple):
    """Epochs of the turn; NaN where undefined."""

    onset: float  # whole evaluation epoch
    midpoint: float  # whole evaluation epoch
    velocity_peak: float  # midpoint of a checkpoint interval


NO_TURN = Turn(NAN, NAN, NAN)


def eval_cadence(epochs: np.ndarray) -> float:
    """The spacing between ascending unique `epochs` that covers the most epochs in total."""
    d = np.diff(epochs)
    values, which = np.unique(d, return_inverse=True)
    return float(values[np.argmax(np.bincount(which, weights=d))])


def _usable(epochs: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ascending unique epochs [n] and log10 loss [n], non-finite or non-positive losses dropped."""
    e, y = np.asarray(epochs, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    ok = np.isfinite(e) & np.isfinite(y) & (y > 0)
    e, first = np.unique(e[ok], return_index=True)
    return e, np.log10(y[ok][first])


def smoothed_log_loss(epochs: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed log10 loss on a grid of step eval_cadence from the first evaluation (step 1).

    Args:
        epochs: [n] evaluation epochs; loss: [n] losses (non-finite or <= 0 entries dropped).

    Returns:
        grid epochs [g] and the smoothed log10 loss [g]; both empty with < 3 usable points.
    """
    e, y = _usable(epochs, loss)
    if e.size < 3:
        return np.empty(0), np.empty(0)
    c = eval_cadence(e)
    grid = e[0] + c * np.arange(int((e[-1] - e[0]) / c + 1e-9) + 1)
    return grid, gaussian_filter1d(np.interp(grid, e, y), sigma=SMOOTH_EVALS, mode="nearest")


def _after_peak(grid: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From the memorization peak on: grid [k], linear-loss slope [k], new-low mask [k] (step 2)."""
    if grid.size < 3:
        return np.empty(0), np.empty(0), np.empty(0, dtype=bool)
    peak = int(np.argmax(s))
    slope = np.gradient(10.0 ** s, grid)[peak:]  # linear loss per epoch
    new_low = s[peak:] <= np.minimum.accumulate(s)[peak:] + NEW_LOW_TOL
    if s[peak] - s[peak:].min() < MIN_DROP_DECADES or not new_low.any() or slope[new_low].min() >= 0:
        return np.empty(0), np.empty(0), np.empty(0, dtype=bool)
    return grid[peak:], slope, new_low


def _candidates(slope: np.ndarray, new_low: np.ndarray) -> np.ndarray:
    """Index of the steepest point of each steep descent into new ground (step 3)."""
    steep = (slope <= STEEP_FRAC * slope[new_low].min()) & new_low
    edges = np.flatnonzero(np.diff(np.concatenate([[0], steep.astype(np.int8), [0]])))
    return np.array([lo + int(np.argmin(slope[lo:hi])) for lo, hi in zip(edges[::2], edges[1::2])], dtype=int)


def _stretch(slope: np.ndarray, i: int) -> tuple[int, int]:
    """First and last index of the contiguous run around i falling at >= ONSET_FRAC of slope[i]."""
    fast = slope <= ONSET_FRAC * slope[i]
    slow_before, slow_after = np.flatnonzero(~fast[:i]), np.flatnonzero(~fast[i:])
    lo = int(slow_before[-1]) + 1 if slow_before.size else 0
    hi = i + int(slow_after[0]) - 1 if slow_after.size else slope.size - 1
    return lo, hi


def estimate_turn(epochs: np.ndarray, test_loss: np.ndarray, ckpt_epochs: np.ndarray | None = None,
                  velocity: np.ndarray | None = None) -> Turn:
    """The turn from a test-loss curve and, optionally, parameter velocity (module doc, steps 1-6).

    Args:
        epochs, test_loss: [n] the metrics curve.
        ckpt_epochs: [m] checkpoint epochs; velocity: [m] ‖Δθ‖/Δepoch (first entry NaN).

    Returns:
        Turn(onset, midpoint, velocity_peak); NO_TURN (all NaN) when the loss never collapses.
    """
    grid, slope, new_low = _after_peak(*smoothed_log_loss(epochs, test_loss))
    if grid.size == 0:
        return NO_TURN
    cands = _candidates(slope, new_low)
    spans = np.array([_stretch(slope, i) for i in cands])
    vel_peak = _velocity_peak(grid[spans[:, 0].min()], grid[spans[:, 1].max()], ckpt_epochs, velocity)
    best = cands[np.argmin(slope[cands])]
    if cands.size > 1 and np.isfinite(vel_peak):
        best = cands[np.argmin(np.abs(grid[cands] - vel_peak))]
    evals = _usable(epochs, test_loss)[0]
    return Turn(_snap(evals, grid[_stretch(slope, best)[0]]), _snap(evals, grid[best]), vel_peak)


def _snap(evals: np.ndarray, epoch: float) -> float:
    """The evaluation epoch nearest `epoch` (the earlier on a tie)."""
    return float(evals[np.argmin(np.abs(evals - epoch))])


def _velocity_peak(start: float, end: float, ckpt_epochs, velocity) -> float:
    """Midpoint of the fastest checkpoint interval whose midpoint lies in [start, end]."""
    if ckpt_epochs is None or velocity is None or len(ckpt_epochs) < 2:
        return NAN
    e = np.asarray(ckpt_epochs, dtype=np.float64)
    mid, vel = (e[1:] + e[:-1]) / 2, np.asarray(velocity, dtype=np.float64)[1:]
    inside = (mid >= start) & (mid <= end) & np.isfinite(vel)
    if not inside.any():
        return NAN
    return float(mid[inside][np.argmax(vel[inside])])


@register_analyzer("turn", kind="trajectory", scope="summary", requires=("param_snapshot",), version=3,
          outputs={ONSET: (), MIDPOINT: (), "velocity_peak_epoch": (), "turn_epoch": ()}, markers=(ONSET, MIDPOINT), kinds={'velocity_peak_epoch': 'epoch', 'turn_epoch': 'epoch'})
def turn(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """Grokking turn: where the test-loss collapse begins (onset) and is steepest (midpoint)."""
    velocity = param_velocity(ctx.artifacts("param_snapshot")["flat"], ctx.epochs)
    t = estimate_turn(ctx.metrics["epoch"], ctx.metrics["test_loss"], ctx.epochs, velocity)
    return {ONSET: np.array(t.onset), MIDPOINT: np.array(t.midpoint), "velocity_peak_epoch": np.array(t.velocity_peak),
            "turn_epoch": np.array(t.onset)}


def turn_value(arrays: dict | None) -> int | None:
    """The turn's onset epoch from this analyzer's summary arrays; None when absent or not detected."""
    if not arrays or ONSET not in arrays:
        return None
    value = float(arrays[ONSET])
    return None if np.isnan(value) else int(round(value))
