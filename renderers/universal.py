"""Views of the multi-prime analyzers (issue 13): accuracy by prime over training, the
seen / unseen / extrapolation curves, a neuron's patterns across primes, its modular-sum
signal with the fitted sinusoid and its curves on both sides of the wrap, and (issue 28) its
fit beside the permutation null band with the wrap score and the Z_p Fourier verdict."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from renderers._options import TOP_NEURON
from renderers._axis import TRAINING_AXIS, over_training
from renderers._style import (
    EPOCH_AXIS,
    EPOCH_HOVER,
    epoch_scatter,
    line,
    markers,
    sequential_heatmap,
    styled,
    subplots,
    value_scale,
)
from renderers._validate import option_index, require, same_length
from workbench.core.view import register_view

__all__ = ["render_prime_accuracy", "render_prime_groups", "render_neuron_adaptation", "render_sum_signal",
           "render_zp_tests"]

GROUP_NAMES = ("seen", "unseen", "extrapolation", "below range")
GROUP_COLORS = ("#1f77b4", "#2ca02c", "#d62728", "#7f7f7f")
N_SIGNAL_PANELS = 6
WRAP_MIN = 0.8  # the verdict's wrap threshold (analyzers._multi_prime.WRAP_MIN; renderers do not import analyzers)
VERDICT = {1.0: "Z_p ✓", 0.0: "not Z_p"}


def _verdict(value) -> str:
    return VERDICT.get(float(value), "no verdict") if np.isfinite(value) else "no verdict"


def _regression_table(arrays: dict, view: str) -> dict[str, np.ndarray]:
    t = {k: require(arrays, k, dims, view) for k, dims in (
        ("epochs", ("epoch",)), ("primes", ("prime",)), ("group", ("prime",)), ("accuracy", ("epoch", "prime")),
        ("group_accuracy", ("epoch", "group")), ("alert", ("prime",)), ("drop", ("prime",)), ("peak", ("prime",)))}
    same_length(view, "epoch", epochs=t["epochs"], accuracy=t["accuracy"], group_accuracy=t["group_accuracy"])
    same_length(view, "prime", primes=t["primes"], group=t["group"], alert=t["alert"], accuracy=t["accuracy"].T)
    t["primes"] = t["primes"].astype(np.int64)
    t["group"] = np.clip(t["group"].astype(np.int64), 0, len(GROUP_NAMES) - 1)
    t["alert"] = t["alert"].astype(bool)
    return t


def _alert_text(t: dict, arrays: dict) -> str:
    alerted = np.flatnonzero(t["alert"])
    if not alerted.size:  # the thresholds the artifact states (prime_regressions' reach and drop_threshold)
        reach, drop = (float(np.asarray(arrays.get(k, d))) for k, d in (("reach", 0.6), ("drop_threshold", 0.2)))
        return f"no regressions (no prime fell >= {drop:g} from a reached >= {reach:g})"
    parts = [f"p={t['primes'][i]} (peak {t['peak'][i]:.2f}, fell {t['drop'][i]:.2f})" for i in alerted[:6]]
    return "regressions: " + ", ".join(parts) + (" ..." if alerted.size > 6 else "")


@register_view("prime_accuracy", scope="trajectory", sources=("prime_regressions",), options=TRAINING_AXIS, group="multi-prime", order=10,
               wide=True, click="epoch")
@over_training
def render_prime_accuracy(arrays: dict) -> go.Figure:
    """Accuracy on every prime over training (epoch x prime heatmap), regressions named in the title.

    Args:
        arrays: prime_regressions' epochs [epoch], primes, group, alert, drop, peak [prime],
            accuracy [epoch, prime], group_accuracy [epoch, group].
    """
    t = _regression_table(arrays, "prime_accuracy")
    labels = [f"{'⚠ ' if a else ''}p={p} {GROUP_NAMES[g]}" for p, g, a in zip(t["primes"], t["group"], t["alert"])]
    custom = np.broadcast_to(t["epochs"][None, :, None], (len(labels), len(t["epochs"]), 1))
    fig = go.Figure(sequential_heatmap(
        z=t["accuracy"].T, x=t["epochs"], y=labels, zmin=0, zmax=1, customdata=custom,
        colorbar={"title": "accuracy"}, hovertemplate=f"%{{y}}<br>{EPOCH_HOVER}<br>accuracy %{{z:.3f}}<extra></extra>"))
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(title_text="prime", type="category", tickfont={"size": 9})
    return styled(fig, title=f"Accuracy by prime over training — {_alert_text(t, arrays)}", height=max(420, 16 * len(labels)))


@register_view("prime_groups", scope="trajectory", sources=("prime_regressions",), options=TRAINING_AXIS, group="multi-prime", order=20,
               click="epoch")
@over_training
def render_prime_groups(arrays: dict) -> go.Figure:
    """Mean accuracy of the seen, unseen (held out in range) and extrapolation primes over training."""
    t = _regression_table(arrays, "prime_groups")
    fig = go.Figure()
    custom = t["epochs"].astype(int)[:, None]
    for g, name in enumerate(GROUP_NAMES):
        if not (t["group"] == g).any():
            continue
        primes = ", ".join(str(p) for p in t["primes"][t["group"] == g][:8])
        fig.add_trace(epoch_scatter(x=t["epochs"], y=t["group_accuracy"][:, g], name=name, customdata=custom,
                                    line={"color": GROUP_COLORS[g]},
                                    hovertemplate=f"{name} (p = {primes}{'...' if (t['group'] == g).sum() > 8 else ''})"
                                                  f"<br>{EPOCH_HOVER}<br>mean accuracy %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(title_text="mean accuracy over the group's primes", range=[0, 1.02])
    return styled(fig, title="Seen, unseen and extrapolation primes")


def _top_index(neurons: np.ndarray, neuron, view: str) -> int:
    """The `neuron` option as a rank among the artifact's top neurons (0 = most oscillator-like)."""
    return option_index(0 if neuron is None else neuron, len(neurons), view, "neuron (rank among the top neurons)")


@register_view("neuron_across_primes", scope="epoch", sources=("neuron_adaptation",), options=(TOP_NEURON,),
               group="multi-prime", order=30, wide=True)
def render_neuron_adaptation(arrays: dict, neuron: int | None = None) -> go.Figure:
    """One top neuron's activation over (a, b) at several primes side by side, with its dominant frequency.

    Args:
        arrays: neuron_adaptation's neurons [top], score, constancy [neuron], show_primes [shown],
            patterns [top, shown, a, b], pattern_freq [top, shown].
        neuron: rank among the top neurons (0 = highest oscillator score).
    """
    view = "neuron_across_primes"
    top = require(arrays, "neurons", ("top",), view).astype(np.int64)
    shown = require(arrays, "show_primes", ("shown",), view).astype(np.int64)
    patterns = require(arrays, "patterns", ("top", "shown", "a", "b"), view)
    freq = require(arrays, "pattern_freq", ("top", "shown"), view)
    score, constancy = require(arrays, "score", ("neuron",), view), require(arrays, "constancy", ("neuron",), view)
    i = _top_index(top, neuron, view)
    n = int(top[i])
    titles = [f"p={p}: k={int(k)}" if k > 0 else f"p={p}: no k" for p, k in zip(shown, freq[i])]
    fig = subplots(1, max(1, len(shown)), subplot_titles=titles or ["no primes"])
    scale = value_scale(patterns[i], bounds=False)
    for j, p in enumerate(shown):
        fig.add_trace(go.Heatmap(z=patterns[i, j, :p, :p], coloraxis="coloraxis",
                                 hovertemplate=f"p={p}<br>a=%{{y}} b=%{{x}}<br>activation %{{z:.3g}}<extra></extra>"),
                      1, j + 1)
        fig.update_xaxes(title_text="b", row=1, col=j + 1)
        fig.update_yaxes(title_text="a" if j == 0 else None, autorange="reversed", scaleanchor=f"x{j + 1 if j else ''}",
                         row=1, col=j + 1)
    fig.update_layout(coloraxis={**scale, "colorbar": {"title": "act."}})
    share = arrays.get("zp_share")  # absent in a v1 artifact
    zp = "" if share is None or not np.isfinite(share[n]) else f", Fourier on Z_p at {share[n]:.0%} of primes ≥ 11"
    return styled(fig, title=f"Neuron {n} across primes (oscillator score {score[n]:.2f}, same k on "
                             f"{constancy[n]:.0%} of primes{zp})", height=380)


@register_view("sum_signal_fit", scope="epoch", sources=("modular_sum_signal",), options=(TOP_NEURON,),
               group="multi-prime", order=40, wide=True)
def render_sum_signal(arrays: dict, neuron: int | None = None) -> go.Figure:
    """A top neuron's mean activation vs (a + b) mod p at several primes, with the best-fit sinusoid.

    Args:
        arrays: modular_sum_signal's primes [prime], neurons [top], signal [prime, top, residue],
            fit_freq, fit_amp, fit_phase, fit_offset, fit_r2 [prime, neuron].
        neuron: rank among the top neurons (0 = highest oscillator score).
    """
    view = "sum_signal_fit"
    primes = require(arrays, "primes", ("prime",), view).astype(np.int64)
    top = require(arrays, "neurons", ("top",), view).astype(np.int64)
    signal = require(arrays, "signal", ("prime", "top", "residue"), view)
    fit = {k: require(arrays, f"fit_{k}", ("prime", "neuron"), view) for k in ("freq", "amp", "phase", "offset", "r2")}
    i = _top_index(top, neuron, view)
    n = int(top[i])
    big = np.flatnonzero(primes >= 5)
    big = big if big.size else np.arange(len(primes))  # primes below 5 have one frequency: shown only if alone
    picks = big[np.unique(np.linspace(0, len(big) - 1, min(N_SIGNAL_PANELS, len(big))).round().astype(int))]
    tests = {k: arrays[k] for k in ("fit_r2_null_q99", "wrap", "zp_fourier") if k in arrays}  # absent: a v1 artifact
    titles = [f"p={primes[j]}: k={int(fit['freq'][j, n])}, R²={fit['r2'][j, n]:.2f}" + (
        f" (null q99 {tests['fit_r2_null_q99'][j, n]:.2f})<br>wrap {tests['wrap'][j, n]:.2f}, "
        f"{_verdict(tests['zp_fourier'][j, n])}" if len(tests) == 3 else "") for j in picks]
    cols = min(3, max(1, len(picks)))
    fig = subplots(max(1, -(-len(picks) // cols)), cols, subplot_titles=titles or ["no primes >= 5"], vertical_spacing=0.22)
    for m, j in enumerate(picks):
        p, row, col = int(primes[j]), m // cols + 1, m % cols + 1
        s, fine = np.arange(p), np.linspace(0, p - 1, 200)
        fig.add_trace(markers(x=s, y=signal[j, i, :p], name="mean activation", showlegend=m == 0,
                              marker={"color": "#1f77b4", "size": 5}, legendgroup="signal",
                              hovertemplate=f"p={p}<br>(a+b) mod p = %{{x}}<br>mean activation %{{y:.3g}}<extra></extra>"),
                      row, col)
        if fit["freq"][j, n] > 0 and p > 0:
            curve = fit["offset"][j, n] + fit["amp"][j, n] * np.cos(2 * np.pi * fit["freq"][j, n] * fine / p
                                                                    + fit["phase"][j, n])
            fig.add_trace(line(x=fine, y=curve, name="best sinusoid", showlegend=m == 0, legendgroup="fit",
                               line={"color": "#d62728"},
                               hovertemplate=f"best sinusoid, k={int(fit['freq'][j, n])}<br>%{{y:.3g}}<extra></extra>"),
                          row, col)
        _wrap_traces(fig, arrays, j, i, p, m == 0, row, col)
        fig.update_xaxes(title_text="(a + b) mod p", row=row, col=col)
    return styled(fig, title=f"Neuron {n}: modular-sum signal, best-fit sinusoid, and its curve on pairs that do "
                             f"(a + b ≥ p) and do not wrap", height=320 * max(1, -(-len(picks) // cols)))


def _wrap_traces(fig: go.Figure, arrays: dict, j: int, i: int, p: int, legend: bool, row: int, col: int) -> None:
    """The wrap test's two curves: mean activation at a + b = s and at a + b = s + p (same for a Z_p neuron)."""
    for key, name, dash in (("signal_nowrap", "a + b = s (no wrap)", "dot"), ("signal_wrap", "a + b = s + p (wrap)", "dash")):
        if key not in arrays:
            continue
        fig.add_trace(line(x=np.arange(p - 1), y=arrays[key][j, i, : p - 1], name=name, showlegend=legend, legendgroup=key,
                           line={"color": "#7f7f7f" if key == "signal_nowrap" else "#ff7f0e", "dash": dash, "width": 1},
                           hovertemplate=f"p={p}, {name}<br>s = %{{x}}<br>mean activation %{{y:.3g}}<extra></extra>"),
                      row, col)


@register_view("zp_tests", scope="epoch", sources=("modular_sum_signal",), options=(TOP_NEURON,),
               group="multi-prime", order=45, wide=True)
def render_zp_tests(arrays: dict, neuron: int | None = None) -> go.Figure:
    """Is a top neuron a Fourier feature on Z_p? Its fit R² per prime against the permutation null band, and its wrap score.

    Args:
        arrays: modular_sum_signal's primes [prime], neurons [top], fit_r2, fit_r2_null_q50, fit_r2_null_q99,
            fit_p_fw, wrap, zp_fourier [prime, neuron].
        neuron: rank among the top neurons (0 = highest oscillator score).
    """
    view = "zp_tests"
    primes = require(arrays, "primes", ("prime",), view).astype(np.int64)
    top = require(arrays, "neurons", ("top",), view).astype(np.int64)
    t = {k: require(arrays, k, ("prime", "neuron"), view) for k in
         ("fit_r2", "fit_r2_null_q50", "fit_r2_null_q99", "fit_p_fw", "wrap", "zp_fourier")}
    same_length(view, "prime", primes=primes, **{k: v for k, v in t.items()})
    n = int(top[_top_index(top, neuron, view)])
    x = primes.astype(str)
    fig = subplots(2, 1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4])
    fig.add_trace(line(x=x, y=t["fit_r2_null_q99"][:, n], name="null 99th pct", line={"width": 0, "color": "#9ecae1"},
                       hovertemplate="p=%{x}<br>null 99th percentile %{y:.3f}<extra></extra>"), 1, 1)
    fig.add_trace(line(x=x, y=t["fit_r2_null_q50"][:, n], name="null band (median–99th pct)", fill="tonexty",
                       line={"width": 1, "color": "#9ecae1"},
                       hovertemplate="p=%{x}<br>null median %{y:.3f}<extra></extra>"), 1, 1)
    verdict = [_verdict(v) for v in t["zp_fourier"][:, n]]
    colors = ["#2ca02c" if v == VERDICT[1.0] else "#d62728" if v == VERDICT[0.0] else "#7f7f7f" for v in verdict]
    custom = np.stack([t["fit_p_fw"][:, n], t["wrap"][:, n], np.array(verdict, dtype=object)], 1)
    fig.add_trace(markers(x=x, y=t["fit_r2"][:, n], name="fit R²", marker={"color": colors, "size": 8}, customdata=custom,
                          hovertemplate="p=%{x}<br>R² %{y:.3f}, family-wise p %{customdata[0]:.3g}<br>wrap "
                                        "%{customdata[1]:.2f}: %{customdata[2]}<extra></extra>"), 1, 1)
    fig.add_trace(markers(x=x, y=t["wrap"][:, n], name="wrap score", marker={"color": colors, "symbol": "diamond", "size": 8},
                          customdata=custom, hovertemplate="p=%{x}<br>wrap score %{y:.2f}: %{customdata[2]}<extra></extra>"),
                  2, 1)
    fig.add_hline(y=WRAP_MIN, line={"dash": "dot", "color": "#7f7f7f"}, row=2, col=1)
    fig.update_yaxes(title_text="sum-sinusoid R²", range=[0, 1.02], row=1, col=1)
    fig.update_yaxes(title_text="wrap score", range=[-1.05, 1.05], row=2, col=1)
    fig.update_xaxes(title_text="prime", type="category", row=2, col=1)
    yes = int(np.nansum(t["zp_fourier"][:, n] == 1))
    decided = int(np.isfinite(t["zp_fourier"][:, n]).sum())
    return styled(fig, title=f"Neuron {n}: Fourier on Z_p at {yes} of {decided} primes ≥ 11 (green: significant "
                             f"beyond the null band and wrap ≥ {WRAP_MIN})", height=520)
