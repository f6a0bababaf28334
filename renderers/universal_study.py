"""Views of the MIRAS study's own measures (issue 28): its accuracy sweep over every prime at one
checkpoint (sweep_accuracy.py), with each prime's group and the two baselines a reader needs,
its "Fourier purity (SNR)" (analyze_miras_mechanics.py) per prime against its permutation
null, with the wrap score that tells a Z_p feature from a raw-sum wave, and its adaptation measure
(visualize_adaptation.py: top-k neurons per prime and their overlap) against random subsets."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from renderers._null import add_bar_bands, null_draws
from renderers._style import diverging_heatmap, line, markers, styled, subplots
from renderers._validate import require, same_length
from renderers.universal import GROUP_COLORS, GROUP_NAMES, WRAP_MIN
from workbench.core.nulls import null_band
from workbench.core.view import register_view

__all__ = ["render_prime_sweep", "render_study_snr", "render_adaptation_overlap", "STUDY_EXAMPLES"]

STUDY_EXAMPLES = {13: "study's seen example", 71: "study's unseen example", 101: "study's extrapolation example"}


def _groups(arrays: dict, view: str, **per_prime: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    primes = require(arrays, "primes", ("prime",), view).astype(np.int64)
    group = require(arrays, "group", ("prime",), view).astype(np.int64)
    same_length(view, "prime", primes=primes, group=group, **per_prime)
    return primes, np.clip(group, 0, len(GROUP_NAMES) - 1)


def _by_group(fig: go.Figure, x: np.ndarray, y: np.ndarray, group: np.ndarray, hover: str, text=None, suffix: str = "",
              **style) -> None:
    """One marker trace per group present, coloured as the other multi-prime views colour it."""
    for g, name in enumerate(GROUP_NAMES):
        m = group == g
        if m.any():
            fig.add_trace(markers(x=x[m], y=y[m], name=name + suffix, marker={"color": GROUP_COLORS[g], "size": 8, **style},
                                  text=None if text is None else np.asarray(text)[m], hovertemplate=hover))


def _mark_examples(fig: go.Figure, primes: np.ndarray, y: np.ndarray) -> None:
    for p, what in STUDY_EXAMPLES.items():
        hit = np.flatnonzero(primes == p)
        if hit.size and np.isfinite(y[hit[0]]):
            fig.add_annotation(x=p, y=float(y[hit[0]]), text=f"p={p}", hovertext=what, showarrow=True, arrowhead=2, ay=-28)


@register_view("accuracy_sweep", scope="epoch", sources=("prime_sweep",), group="multi-prime", order=47, wide=True)
def render_prime_sweep(arrays: dict) -> go.Figure:
    """Accuracy on every prime at this checkpoint (the study's sweep), by group, beside chance and a raw-sum baseline.

    Chance is 1/p; the raw-sum baseline (p + 1) / (2p) is a model that answers a + b and never
    handles the wrap, right on every pair with a + b < p. The study's examples 13, 71, 101 are
    marked where the sweep holds them.

    Args:
        arrays: prime_sweep's primes, group, accuracy [prime], group_accuracy [group].
    """
    view = "accuracy_sweep"
    acc = require(arrays, "accuracy", ("prime",), view).astype(np.float64)
    primes, group = _groups(arrays, view, accuracy=acc)
    fig, safe = go.Figure(), np.maximum(primes, 1)
    fig.add_trace(line(x=primes, y=1 / safe, name="chance 1/p", line={"color": "#7f7f7f", "dash": "dot"},
                       hovertemplate="p=%{x}<br>chance %{y:.3f}<extra></extra>"))
    fig.add_trace(line(x=primes, y=(safe + 1) / (2 * safe), name="raw-sum baseline (p+1)/2p",
                       line={"color": "#ff7f0e", "dash": "dash"},
                       hovertemplate="p=%{x}<br>no-wrap model %{y:.3f}<extra></extra>"))
    _by_group(fig, primes, acc, group, "p=%{x}<br>accuracy %{y:.3f}<extra>%{fullData.name}</extra>")
    _mark_examples(fig, primes, acc)
    fig.update_xaxes(title_text="prime p")
    fig.update_yaxes(title_text="accuracy over all p² pairs", range=[0, 1.05])
    means = require(arrays, "group_accuracy", ("group",), view)
    parts = [f"{name} {means[g]:.2f}" for g, name in enumerate(GROUP_NAMES[:len(means)]) if np.isfinite(means[g])]
    return styled(fig, title="Accuracy sweep — mean " + (", ".join(parts) or "no groups"))


@register_view("study_snr_null", scope="epoch", sources=("study_snr",), group="multi-prime", order=48, wide=True)
def render_study_snr(arrays: dict) -> go.Figure:
    """The study's "Fourier purity (SNR)" of each prime's top-variance neuron against its permutation null.

    Filled markers: wrap score >= WRAP_MIN (the curve is a function of (a + b) mod p); open
    markers: below (a wave in the raw sum scores high SNR too). The grey band is the null's
    median to 99th percentile; 1.0 is a pure cosine's score.

    Args:
        arrays: study_snr's primes, group, neuron, freq, snr, snr_null_q50, snr_null_q99, snr_p, wrap [prime].
    """
    view = "study_snr_null"
    v = {k: require(arrays, k, ("prime",), view).astype(np.float64) for k in
         ("snr", "snr_null_q50", "snr_null_q99", "snr_p", "wrap", "neuron", "freq")}
    primes, group = _groups(arrays, view, **v)
    fig = go.Figure()
    fig.add_trace(line(x=primes, y=v["snr_null_q99"], name="null 99th pct", line={"color": "#bbbbbb", "width": 0},
                       hovertemplate="p=%{x}<br>null 99th pct %{y:.3f}<extra></extra>", showlegend=False))
    fig.add_trace(line(x=primes, y=v["snr_null_q50"], name="null median–99th pct", fill="tonexty",
                       line={"color": "#bbbbbb"}, fillcolor="rgba(160,160,160,0.3)",
                       hovertemplate="p=%{x}<br>null median %{y:.3f}<extra></extra>"))
    text = [f"neuron {int(n)}, k={int(k)}, p-value {pv:.3g}, wrap {w:.2f}" for n, k, pv, w in
            zip(v["neuron"], v["freq"], v["snr_p"], v["wrap"])]
    consistent = np.nan_to_num(v["wrap"], nan=-1.0) >= WRAP_MIN
    for filled, label in ((True, ""), (False, f" (wrap < {WRAP_MIN})")):
        m = consistent == filled
        _by_group(fig, primes[m], v["snr"][m], group[m], "p=%{x}<br>SNR %{y:.3f}<br>%{text}<extra>%{fullData.name}</extra>",
                  text=np.asarray(text)[m], suffix=label, symbol="circle" if filled else "circle-open")
    _mark_examples(fig, primes, v["snr"])
    fig.update_xaxes(title_text="prime p")
    fig.update_yaxes(title_text="study SNR (pure cosine = 1.0)", rangemode="tozero")
    beat = np.isfinite(v["snr_p"]) & (v["snr_p"] <= 0.01)
    return styled(fig, title=f"Study's Fourier purity (SNR): above its null (p ≤ 0.01) at {beat.sum()} of "
                             f"{np.isfinite(v['snr_p']).sum()} primes, {(beat & consistent).sum()} also wrap-consistent")


UNTRAINED = "untrained networks, 95%"  # the label of adaptation_overlap's random null


def _pair_text(v: dict, primes: np.ndarray, band) -> tuple[list[list[str]], list[list[str]]]:
    """Cell labels (the overlap, * above the null's 99th percentile) and hover lines of the overlap heatmap."""
    above = v["overlap"] > v["null_q99"]
    label = [[f"{o:.0f}{'*' if a else ''}" for o, a in zip(row, arow)] for row, arow in zip(v["overlap"], above)]
    hover = [[f"p={primes[i]} & p={primes[j]}<br>overlap {v['overlap'][i, j]:.0f}, Jaccard {v['jaccard'][i, j]:.2f}<br>"
              f"chance {v['chance'][i, j]:.1f}, null 99th pct {v['null_q99'][i, j]:.0f}, p-value {v['overlap_p'][i, j]:.3g}"
              + ("" if band is None else f"<br>{UNTRAINED}: {band[0][i, j]:.0f}–{band[1][i, j]:.0f}")
              for j in range(len(primes))] for i in range(len(primes))]
    return label, hover


def _overlap_panel(fig: go.Figure, v: dict, primes: np.ndarray, band) -> None:
    """Pairwise overlaps coloured by their excess over the chance mean (white: chance)."""
    names = [f"p={p}" for p in primes]
    label, hover = _pair_text(v, primes, band)
    excess = v["overlap"] - v["chance"]
    lim = float(np.nanmax(np.abs(np.where(np.eye(len(primes), dtype=bool), np.nan, excess)), initial=1.0))
    fig.add_trace(diverging_heatmap(z=excess, x=names, y=names, text=label, texttemplate="%{text}", customdata=hover,
                                    zmin=-lim, zmax=lim, hovertemplate="%{customdata}<extra></extra>",
                                    colorbar={"title": "− chance", "x": 0.5, "thickness": 12}), row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=1)


def _intersection_panel(fig: go.Figure, arrays: dict, view: str) -> None:
    """Each non-empty set's common intersection beside its chance mean, null 99th percentile and untrained band."""
    s = {k: require(arrays, k, ("set",), view) for k in
         ("set_names", "intersection", "set_chance", "set_null_q99", "set_p", "set_size")}
    used = np.asarray(s["set_size"]).astype(np.int64) > 0
    x = [f"{n} ({int(m)})" for n, m in zip(np.asarray(s["set_names"])[used], np.asarray(s["set_size"])[used])]
    chance, q99, seen, pval = (np.asarray(s[key], dtype=np.float64)[used] for key in
                               ("set_chance", "set_null_q99", "intersection", "set_p"))
    fig.add_trace(go.Bar(x=x, y=q99, name="null 99th pct", marker={"color": "rgba(160,160,160,0.35)"},
                         hovertemplate="%{x}<br>null 99th pct %{y:.1f}<extra></extra>"), row=1, col=2)
    fig.add_trace(markers(x=x, y=chance, name="chance mean", marker={"color": "#7f7f7f", "symbol": "line-ew-open", "size": 18},
                          hovertemplate="%{x}<br>chance %{y:.2f}<extra></extra>"), row=1, col=2)
    fig.add_trace(markers(x=x, y=seen, name="observed", marker={"color": "#1f77b4", "size": 10},
                          text=[f"p-value {p:.3g}" for p in pval],
                          hovertemplate="%{x}<br>shared by all %{y:.0f}<br>%{text}<extra></extra>"), row=1, col=2)
    draws = null_draws(arrays, view, "intersection")  # [draw, set] or None
    if draws is not None and draws.shape[1:] == used.shape:
        add_bar_bands(fig, x, [draws[:, i] for i in np.flatnonzero(used)], UNTRAINED, row=1, col=2)
    fig.update_yaxes(title_text=f"neurons in every top-{int(require(arrays, 'k', (), view))}", rangemode="tozero",
                     row=1, col=2)


@register_view("adaptation_overlap", scope="epoch", sources=("adaptation_overlap",), group="multi-prime", order=49,
               wide=True)
def render_adaptation_overlap(arrays: dict) -> go.Figure:
    """The study's adaptation measure: how many of each prime's top-k neurons (by activation std) are shared, against chance.

    Left: pairwise overlaps, coloured by overlap minus its chance mean (white: chance); * marks a
    pair above the random-subset null's 99th percentile. Right: the study's measure, the common
    intersection of a set of primes' top-k, beside its chance mean and null 99th percentile. Where
    the analyzer's random null is stored, the same measure on untrained networks of the run's
    shape (the overlap weight scale alone gives) is drawn as a range and counted in the title.

    Args:
        arrays: adaptation_overlap's primes, group, k, overlap, jaccard, chance, null_q99, overlap_p
            [prime, prime], set_names, intersection, set_chance, set_null_q99, set_p, set_size [set].
    """
    view = "adaptation_overlap"
    v = {k: require(arrays, k, ("prime", "prime"), view).astype(np.float64) for k in
         ("overlap", "jaccard", "chance", "null_q99", "overlap_p")}
    primes, _ = _groups(arrays, view, **v)
    untrained = null_draws(arrays, view, "overlap")  # [draw, prime, prime] or None
    band = null_band(untrained) if untrained is not None and untrained.shape[1:] == v["overlap"].shape else None
    fig = subplots(1, 2, column_widths=[0.58, 0.42], horizontal_spacing=0.2,
                   subplot_titles=("pairwise overlap of top-k", "common intersection"))
    _overlap_panel(fig, v, primes, band)
    _intersection_panel(fig, arrays, view)
    off = ~np.eye(len(primes), dtype=bool) & np.isfinite(v["overlap_p"])
    beat = int((v["overlap_p"][off] <= 0.01).sum()) // 2
    vs_init = "" if band is None else f", {int((v['overlap'][off] > band[1][off]).sum()) // 2} more than untrained networks"
    return styled(fig, title=f"Top-{int(require(arrays, 'k', (), view))} neurons by activation std: {beat} of "
                             f"{int(off.sum()) // 2} prime pairs share more than chance (p ≤ 0.01){vs_init}", height=480)
