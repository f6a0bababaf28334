"""The least-action MLP's data-fraction curve (issue 27): at which training fraction does it grok?

    python bench/lal_curve.py [--spec lal_curve17 ...] [--store DIR] [--threshold 0.95] [--figure OUT.html|.png]

Reads (never trains, never writes the store) the runs a sweep spec names
(configs/sweeps/lal_curve17.yaml, lal_curve113.yaml: MLP 2 x 128 on (a + b) mod p under the
lal_validate recipe, frac_train {0.3, ..., 0.8} x data_seed 0-2). Per (p, frac_train) and seed:
the first evaluated epoch with test accuracy >= the threshold, or "not within N" (N = the
epochs the run has done; "(running)" while it trains). Per p, the **critical fraction**: the
smallest fraction at which every seed reached the threshold within the budget, with its
spread: the bracket (the fraction below it, where some seed did not) and each seed's own
smallest grokking fraction. Splits are nested across fractions for one data_seed
(LeastAction.data), so a seed's own fraction is a property of its split sequence. A fraction
at which a seed groks but a larger one it does not is reported as non-monotone.
The figure (Plotly; .html, or .png with kaleido) shows epoch-to-threshold against the fraction,
seeds that did not get there drawn at the budget line.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from workbench.store import RunKey, Store
from workbench.sweep.spec import expand, load_sweep

__all__ = ["seed_outcome", "curve_cells", "critical_fraction", "table_lines", "figure", "main"]


def seed_outcome(metrics: dict, status: dict | None, threshold: float) -> dict:
    """One run: first epoch at test >= threshold (None if never), epochs done, finished or not, final test."""
    epochs, test = np.asarray(metrics["epoch"], dtype=np.int64), np.asarray(metrics["test_acc"], dtype=float)
    hit = np.flatnonzero(test >= threshold)
    return {"epoch": int(epochs[hit[0]]) if hit.size else None, "last": int(epochs[-1]),
            "done": (status or {}).get("state") == "done", "final_test": float(test[-1])}


def curve_cells(store: Store, specs: list[str], threshold: float) -> dict[int, dict[float, dict[int, dict]]]:
    """p -> frac_train -> data_seed -> seed_outcome, for every run of the specs that has metrics."""
    cells: dict[int, dict[float, dict[int, dict]]] = {}
    for spec in specs:
        for v in expand(load_sweep(spec)):
            key = RunKey(*v.key)
            per_frac = cells.setdefault(v.params.p, {}).setdefault(float(v.params.frac_train), {})
            if store.has_metrics(key):
                per_frac[v.params.data_seed] = seed_outcome(store.read_metrics(key, ("epoch", "test_acc")),
                                                            store.read_status(key), threshold)
    return cells


def critical_fraction(by_frac: dict[float, dict[int, dict]]) -> dict:
    """The smallest fraction where every seed (of the most seeds any fraction has) grokked; its bracket;
    each seed's smallest grokking fraction; seeds that grok at a fraction but not at a larger one.
    A fraction with a seed still running or missing is `open` and cannot be the critical one."""
    fracs = sorted(by_frac)
    seeds = sorted({s for runs in by_frac.values() for s in runs})
    grok = {f: {s: by_frac[f].get(s, {}).get("epoch") is not None for s in seeds} for f in fracs}
    settled = {f: all(s in by_frac[f] and (by_frac[f][s]["done"] or grok[f][s]) for s in seeds) for f in fracs}
    crit = next((f for f in fracs if settled[f] and all(grok[f].values())), None) if seeds else None
    below = [f for f in fracs if crit is not None and f < crit]
    own = {s: next((f for f in fracs if grok[f][s]), None) for s in seeds}
    non_monotone = sorted({s for s in seeds for i, f in enumerate(fracs)
                           if grok[f][s] and any(not grok[g][s] and settled[g] for g in fracs[i + 1:])})
    return {"critical": crit, "bracket": (below[-1] if below else None, crit), "per_seed": own,
            "non_monotone": non_monotone, "open": [f for f in fracs if not settled[f]], "seeds": seeds}


def _cell_text(o: dict | None) -> str:
    if o is None:
        return "not trained"
    if o["epoch"] is not None:
        return f"{o['epoch']:,}"
    return f"not within {o['last']:,}" + ("" if o["done"] else " (running)")


def table_lines(cells: dict[int, dict[float, dict[int, dict]]], threshold: float) -> list[str]:
    """Markdown: one row per (p, frac) with each seed's epoch, then the critical fraction per p."""
    out = []
    for p, by_frac in sorted(cells.items()):
        seeds = sorted({s for runs in by_frac.values() for s in runs})
        out.append(f"| p | frac_train | train pairs | " + " | ".join(f"data_seed {s}: first epoch test >= {threshold}"
                                                                     for s in seeds) + " | grokked | final test (mean ± sd) |")
        out.append("|---" * (5 + len(seeds)) + "|")
        for frac, runs in sorted(by_frac.items()):
            finals = np.array([r["final_test"] for r in runs.values()])
            sd = f" ± {finals.std(ddof=1):.3f}" if finals.size > 1 else ""
            n_grok = sum(r["epoch"] is not None for r in runs.values())
            out.append(f"| {p} | {frac:g} | {int(p * p * frac)} | " + " | ".join(_cell_text(runs.get(s)) for s in seeds)
                       + f" | {n_grok}/{len(runs)} | " + (f"{finals.mean():.3f}{sd}" if finals.size else "-") + " |")
        c = critical_fraction(by_frac)
        lo, hi = c["bracket"]
        own = ", ".join(f"seed {s}: {'never' if f is None else f'{f:g}'}" for s, f in c["per_seed"].items())
        crit = "none within budget" if c["critical"] is None else (
            f"{c['critical']:g} (bracket ({'below the grid' if lo is None else f'{lo:g}'}, {hi:g}]")
        out.append(f"\np = {p}: critical fraction {crit}{')' if c['critical'] is not None else ''}; "
                   f"each seed's smallest grokking fraction: {own}"
                   + (f"; non-monotone seeds: {c['non_monotone']}" if c["non_monotone"] else "")
                   + (f"; still open at fractions {c['open']}" if c["open"] else "") + "\n")
    return out


SEED_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def figure(cells: dict[int, dict[float, dict[int, dict]]], threshold: float):
    """Per p (a column): epoch to test >= threshold against frac_train, misses as x at the budget
    line (top); the final test accuracy of every run (bottom)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ps = sorted(cells)
    fig = make_subplots(rows=2, cols=len(ps), row_heights=[0.6, 0.4], vertical_spacing=0.12,
                        subplot_titles=[f"p = {p}" for p in ps] + ["" for _ in ps])
    for col, p in enumerate(ps, start=1):
        by_frac = cells[p]
        budget = max((r["last"] for runs in by_frac.values() for r in runs.values()), default=0)
        seeds = sorted({s for runs in by_frac.values() for s in runs})
        for j, s in enumerate(seeds):
            color, dx = SEED_COLORS[j % len(SEED_COLORS)], (j - (len(seeds) - 1) / 2) * 0.008
            rows = [(f + dx, r) for f, runs in sorted(by_frac.items()) if (r := runs.get(s))]
            hit = [(x, r["epoch"]) for x, r in rows if r["epoch"] is not None]
            style = {"legendgroup": str(s), "marker": {"color": color, "size": 9}}
            fig.add_trace(go.Scatter(x=[h[0] for h in hit], y=[h[1] for h in hit], mode="markers+lines",
                                     name=f"data_seed {s}", showlegend=col == 1, line={"color": color}, **style),
                          row=1, col=col)
            fig.add_trace(go.Scatter(x=[x for x, r in rows if r["epoch"] is None], y=[budget] * sum(r["epoch"] is None for _, r in rows),
                                     mode="markers", name=f"data_seed {s}: not within budget", showlegend=False,
                                     **{**style, "marker": {**style["marker"], "symbol": "x"}}), row=1, col=col)
            fig.add_trace(go.Scatter(x=[x for x, _ in rows], y=[r["final_test"] for _, r in rows], mode="markers+lines",
                                     name=f"data_seed {s}: final test", showlegend=False, line={"color": color, "dash": "dot"},
                                     **style), row=2, col=col)
        fig.add_hline(y=budget, line_dash="dash", annotation_text=f"budget {budget:,} epochs (x: not reached)",
                      annotation_position="top left", row=1, col=col)
        fig.add_hline(y=threshold, line_dash="dash", row=2, col=col)
        crit = critical_fraction(by_frac)["critical"]
        if crit is not None:
            fig.add_vline(x=crit, line_dash="dot", annotation_text=f"critical fraction {crit:g}",
                          annotation_position="bottom left", row=1, col=col)
        fig.update_xaxes(title_text="training fraction", row=2, col=col)
        fig.update_yaxes(title_text=f"first epoch at test >= {threshold}", rangemode="tozero", row=1, col=col)
        fig.update_yaxes(title_text="final test accuracy", range=[0, 1.05], row=2, col=col)
    fig.update_layout(title="MLP 2 x 128, (a + b) mod p, lal_validate recipe (wd 2.0, no clip): data-fraction curve",
                      width=560 * len(ps) + 200, height=640)
    return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", action="append", help="sweep spec(s) (default lal_curve17 and lal_curve113)")
    ap.add_argument("--store", default="/work/store", help="the store holding the runs (only read)")
    ap.add_argument("--threshold", type=float, default=0.95)
    ap.add_argument("--figure", help="write the figure here (.html, or .png with kaleido)")
    args = ap.parse_args(argv)
    cells = curve_cells(Store(args.store), args.spec or ["lal_curve17", "lal_curve113"], args.threshold)
    cells = {p: fr for p, fr in cells.items() if any(fr.values())}
    if not cells:
        print(f"no run of {args.spec or 'lal_curve17/lal_curve113'} in {args.store}", file=sys.stderr)
        return 2
    print("\n".join(table_lines(cells, args.threshold)))
    if args.figure:
        fig = figure(cells, args.threshold)
        (fig.write_html if args.figure.endswith(".html") else fig.write_image)(args.figure)
        print(f"figure -> {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
