"""The notebook API: train, analyze, list and open runs; figures you can show or export.

    >>> import workbench
    >>> v = workbench.train("modular_addition:p=37,frac_train=0.4,lr=0.005", epochs=2500)
    >>> workbench.analyze(v)                           # every analyzer over every checkpoint
    >>> workbench.list_runs()                          # what the store holds
    >>> workbench.list_groups(where="p=53")            # runs differing only in seeds: n, mean ± std, 95% CI
    >>> workbench.group_figure("p=53", "loss_curves", band="ci", draw="both")  # a group: mean, band, runs
    >>> v = workbench.load_variant("modular_addition:p=113,seed=999", store="artifacts")
    >>> v.epochs, v.turn
    >>> v.figure("loss_curves")                        # whole-run views
    >>> v.at(12000).figure("neuron_freq_clusters")     # per-epoch views
    >>> v.at(12000).arrays("embedding_fourier")        # raw analyzer arrays
    >>> v.at(12000).model()                            # the TransformerLens model at that checkpoint
    >>> v.figure("loss_curves").export("loss.html")    # .html offline; .png/.svg need kaleido
    >>> t = workbench.trace(v, "4+29, 17+96")          # inputs across every checkpoint (issue 31)
    >>> t["correct_logit"], t.figure(input=1)
"""

from __future__ import annotations

import base64
import os
import shutil
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from workbench.analysis.pipeline import analyze as run_analysis
from workbench.analysis.tracing import trace as trace_inputs
from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.errors import UserError
from workbench.core.variant import demo_variant, parse_variant
from workbench.core.view import list_views
from workbench.query.group_listing import GroupTable, find_group, group_table
from workbench.query.group_views import group_keys, group_view_figure
from workbench.query.groups import Group
from workbench.query.views import view_figure
from workbench.store import RunKey, Store
from workbench.store.markers import read_markers
from workbench.training.trainer import plan_training
from workbench.training.trainer import train as run_training

__all__ = [
    "train", "analyze", "list_runs", "list_groups", "group_figure", "load_variant", "demo_spec", "RunInfo", "VariantHandle", "EpochHandle", "Figure",
    "MetricsTable", "Trace", "trace", "GroupTable", "IMAGE_EXPORT_HELP", "notebook_figures",
]

IMAGE_EXPORT_HELP = ("PNG/SVG export needs kaleido and a Chromium: pip install 'training-dynamics-workbench[export]' "
                     "(or pip install kaleido) and apt-get install chromium")
TURN_MARKER = "turn_onset_epoch"  # the epoch marker `VariantHandle.turn` reads (any analyzer may declare it)
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_NOTEBOOK_FORMATS = {"html"}  # what a figure shown in a notebook is saved as besides Plotly JSON (notebook_figures)


def notebook_figures(*formats: str) -> tuple[str, ...]:
    """Choose what a figure shown in a notebook is saved as in the .ipynb, besides Plotly JSON
    (which only a live Jupyter with plotly draws): "html" (the default: the figure as HTML that
    loads plotly.js from its CDN, e.g. for nbviewer) and "png" (a static picture any viewer
    shows, GitHub's included; needs kaleido and Chromium, about a second per figure).

    Args:
        formats: any of "html", "png"; none: Plotly JSON only.
    Returns:
        The formats chosen before, to restore them.
    Raises:
        UserError for another format.
    """
    bad = sorted(set(formats) - {"html", "png"})
    if bad:
        raise UserError(f"notebook_figures: unknown format {bad[0]!r}; choose from 'html', 'png'")
    before = tuple(sorted(_NOTEBOOK_FORMATS))
    _NOTEBOOK_FORMATS.clear()
    _NOTEBOOK_FORMATS.update(formats)
    return before


@contextmanager
def _no_widget_warning():
    """Silence tqdm's "IProgress not found" while TransformerLens may be imported.

    transformer_lens imports tqdm.auto, which warns in a notebook without ipywidgets; no
    TransformerLens progress bar is ever shown here (ours are plain tqdm), so it says nothing.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        yield


class Figure(go.Figure):
    """A plotly Figure that can `export` itself to .html (offline), .png or .svg, and that a
    notebook saves as HTML and/or PNG as well as Plotly JSON (`notebook_figures`)."""

    def _repr_mimebundle_(self, include=None, exclude=None, validate=True, **kwargs):
        bundle = super()._repr_mimebundle_(include, exclude, validate, **kwargs) or {}
        if "html" in _NOTEBOOK_FORMATS and "text/html" not in bundle:
            bundle["text/html"] = self.to_html(full_html=False, include_plotlyjs="cdn", include_mathjax=False)
        if "png" in _NOTEBOOK_FORMATS and "image/png" not in bundle:
            bundle["image/png"] = base64.b64encode(_image_bytes(self, "png")).decode()
        return bundle

    def image(self, fmt: str = "png", width: int | None = None, height: int | None = None) -> bytes:
        """The figure as a .png or .svg file's bytes (kaleido and Chromium; UserError when missing)."""
        return _image_bytes(self, fmt, width, height)

    def export(self, path: str | os.PathLike) -> str:
        """Write the figure to `path`; the suffix picks the format.

        Args:
            path: a .html, .png or .svg file (parent folders are created).
        Returns:
            The path written, as a string.
        Raises:
            UserError for another suffix, or for .png/.svg when kaleido or Chromium is missing.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".html", ".png", ".svg"):
            raise UserError(f"cannot export to {path.name!r}: use a .html, .png or .svg file")
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".html":  # plotly.js inlined, no MathJax: opens offline
            self.write_html(path, include_plotlyjs=True, full_html=True, include_mathjax=False)
        else:
            _write_image(self, path)
        return str(path)


def _write_image(fig: go.Figure, path: Path) -> None:
    path.write_bytes(_image_bytes(fig, path.suffix.lower().lstrip(".")))


def _image_bytes(fig: go.Figure, fmt: str, width: int | None = None, height: int | None = None) -> bytes:
    """The figure as a "png" or "svg" file's bytes, through kaleido and a Chromium."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        raise UserError(IMAGE_EXPORT_HELP) from None
    browser = next((b for b in map(shutil.which, _BROWSERS) if b), None)
    if browser and not os.environ.get("BROWSER_PATH"):
        os.environ["BROWSER_PATH"] = browser  # kaleido 1.x (choreographer) looks here first
    try:
        return go.Figure(fig).to_image(format=fmt, width=width, height=height)
    except Exception as err:  # no browser, browser crashed, ...: one clear line, not a traceback
        raise UserError(f".{fmt} export failed ({type(err).__name__}: {str(err)[:200]}); {IMAGE_EXPORT_HELP}") from None


class MetricsTable(dict):
    """The metrics columns (epoch, train/test loss and accuracy) as a dict of numpy arrays."""

    def __repr__(self) -> str:
        epochs = self.get("epoch", np.array([]))
        cols = ", ".join(self)
        if not len(epochs):
            return f"MetricsTable(empty; columns: {cols})"
        last = ", ".join(f"{k}={float(v[-1]):.4g}" for k, v in self.items() if k != "epoch")
        return f"MetricsTable({len(epochs)} rows, epochs {int(epochs[0])}..{int(epochs[-1])}; last: {last})"

    def _repr_html_(self) -> str:
        rows = list(zip(*self.values()))
        shown = rows if len(rows) <= 10 else rows[:5] + [None] + rows[-5:]
        head = "".join(f"<th>{k}</th>" for k in self)
        body = "".join("<tr><td colspan=99>…</td></tr>" if r is None else
                       "<tr>" + "".join(f"<td>{float(x):.4g}</td>" for x in r) + "</tr>" for r in shown)
        return f"<table><tr>{head}</tr>{body}</table><p>{len(rows)} rows</p>"


class EpochHandle:
    """One checkpoint of a variant: its figures, analyzer arrays and model."""

    def __init__(self, variant: "VariantHandle", epoch: int):
        self.variant, self.epoch = variant, epoch

    def __repr__(self) -> str:
        return f"<{self.variant.spec} at epoch {self.epoch}>"

    def figure(self, view: str, **options) -> Figure:
        """Render a view at this epoch (a placeholder naming the command to run if data is missing)."""
        return self.variant._figure(view, self.epoch, options)

    def arrays(self, analyzer: str, probe: str | None = None) -> dict[str, np.ndarray]:
        """The arrays a per-epoch analyzer wrote for this checkpoint (on a named `probe`, if given).

        Raises:
            UserError for an unknown or summary analyzer, or when the artifact does not exist yet.
        """
        if get_analyzer(analyzer).scope != "epoch":
            raise UserError(f"{analyzer!r} is a summary analyzer: use .summary({analyzer!r}) on the variant; "
                            f"per-epoch analyzers: {', '.join(list_analyzers(scope='epoch'))}")
        v, store = self.variant, self.variant.store.with_probe(probe)
        if not store.has_artifact(v.key, analyzer, self.epoch):
            raise UserError(f"no {analyzer} artifact at epoch {self.epoch}; run: workbench analyze {v.spec} "
                            f"--analyzers {analyzer}" + (f" --probe {probe}" if probe else ""))
        return store.read_artifact(v.key, analyzer, self.epoch)

    def model(self, device: str = "cpu"):
        """The family's TransformerLens model with this checkpoint's weights loaded."""
        v = self.variant
        state = v.store.load_checkpoint(v.key, self.epoch, device=device)
        with _no_widget_warning():
            return v.variant.family.tl_model(v.variant.params, state, device)


class VariantHandle:
    """A trained variant in a store: epochs, metrics, turn, figures and per-epoch handles."""

    def __init__(self, variant, store: Store):
        self.variant, self.store = variant, store
        self.spec = variant.spec
        self.key = RunKey(*variant.key)

    def __repr__(self) -> str:
        eps = self.epochs
        return f"<{self.spec}: {len(eps)} checkpoints, epochs {eps[0]}..{eps[-1]}, turn {self.turn}>" if eps else \
            f"<{self.spec}: no checkpoints>"

    @property
    def epochs(self) -> list[int]:
        """The checkpoint epochs."""
        return self.store.checkpoint_epochs(self.key)

    @property
    def metrics(self) -> MetricsTable:
        """Train/test loss and accuracy at every evaluated epoch."""
        return MetricsTable(self.store.read_metrics(self.key))

    @property
    def markers(self) -> dict[str, int]:
        """The run's epoch markers, e.g. {"turn_onset_epoch": 1450, "turn_midpoint_epoch": 2000}."""
        return read_markers(self.store, self.key)

    @property
    def turn(self) -> float | None:
        """The detected turn (grokking onset) epoch, or None if not detected or not analyzed."""
        return self.markers.get(TURN_MARKER)

    @property
    def record(self) -> dict:
        """The run's variant.json (spec, recipe, schedule, library versions) as a dict."""
        return self.store.read_record(self.key).to_json()

    def at(self, epoch: int) -> EpochHandle:
        """The checkpoint at `epoch`; a UserError lists the valid epochs otherwise."""
        epochs = self.epochs
        if int(epoch) not in epochs:
            raise UserError(f"no checkpoint at epoch {epoch} for {self.spec}; epochs: {_short(epochs)}")
        return EpochHandle(self, int(epoch))

    def figure(self, view: str, **options) -> Figure:
        """Render a view: whole-run views over all epochs, per-epoch views at the latest analyzed epoch."""
        return self._figure(view, None, options)

    def summary(self, analyzer: str, probe: str | None = None) -> dict[str, np.ndarray]:
        """The arrays a summary (cross-epoch) analyzer wrote (on a named `probe`, if given)."""
        store = self.store.with_probe(probe)
        if not store.has_summary(self.key, analyzer):
            raise UserError(f"no {analyzer} summary; run: workbench analyze {self.spec} --analyzers {analyzer}"
                            + (f" --probe {probe}" if probe else ""))
        return store.read_summary(self.key, analyzer)

    def _figure(self, view: str, epoch: int | None, options: dict) -> Figure:
        if view not in list_views():
            raise UserError(f"unknown view {view!r}; choose from: {', '.join(list_views())}")
        return Figure(view_figure(self.store, self.key, view, epoch, **options))


def _short(epochs: list[int]) -> str:
    return ", ".join(map(str, epochs)) if len(epochs) <= 12 else \
        ", ".join(map(str, epochs[:6])) + ", ..., " + ", ".join(map(str, epochs[-3:]))


def _as_store(store: str | os.PathLike | Store | None) -> Store:
    return store if isinstance(store, Store) else Store(store)


def load_variant(spec: str, store: str | os.PathLike | Store | None = None) -> VariantHandle:
    """Open a trained variant for notebook use.

    Args:
        spec: "family:key=value,..." (defaults fill the rest), e.g. "modular_addition:p=113,seed=999".
        store: the store root or a Store (default: $WORKBENCH_STORE or ./artifacts).
    Returns:
        A VariantHandle.
    Raises:
        UserError for a bad spec or a variant that has not been trained in that store.
    """
    store = _as_store(store)
    variant = parse_variant(spec)
    if not store.exists(RunKey(*variant.key)):
        raise UserError(f"no trained run for {variant.spec!r} in {store.root}; "
                        f"run: workbench train {variant.spec} --store {store.root}")
    return VariantHandle(variant, store)


def demo_spec() -> str:
    """The embedded demo variant's spec: what `workbench train` trains without a VARIANT."""
    return demo_variant()[0]


def train(spec: str | None = None, *, epochs: int | None = None, extra_epochs: int | None = None,
          schedule: str | None = None, eval_every: int | None = None, store: str | os.PathLike | Store | None = None,
          device: str = "cpu", quiet: bool = False) -> VariantHandle:
    """Train a variant (or resume or extend it), exactly as `workbench train` does.

    Args:
        spec: "family:key=value,..."; None trains the embedded demo with its own recipe length.
        epochs: total epochs (default: the family's recipe, or what the run was started with).
        extra_epochs: train a finished run this many epochs further instead.
        schedule: checkpoint schedule, e.g. "0:2000:100" (default: the family's).
        eval_every: evaluate train/test loss every N epochs (default: the family's).
        store: the store root or a Store (default: $WORKBENCH_STORE or ./artifacts).
        device: "cpu" or "cuda[:N]".
        quiet: no progress bar.
    Returns:
        The run's VariantHandle; a run already trained that far is returned untouched.
    Raises:
        UserError for a bad spec, schedule or epoch count, or an unwritable store.
    """
    if spec is None and extra_epochs is None:
        spec, demo = demo_variant()
        epochs = demo["epochs"] if epochs is None else epochs
        schedule = demo["schedule"] if schedule is None else schedule
        eval_every = demo["eval_every"] if eval_every is None else eval_every
    store = _as_store(store)
    plan = plan_training(parse_variant(spec or demo_spec()), store, epochs=epochs, extra_epochs=extra_epochs,
                         schedule=schedule, eval_every=eval_every)
    store.ensure_writable()
    if plan.fresh or plan.start_epoch < plan.epochs:
        with _no_widget_warning():
            run_training(plan, store, device=device, quiet=quiet)
    elif not quiet:
        print(f"{plan.variant.spec}: already trained to epoch {plan.epochs} ({store.run_dir(plan.key)})")
    return VariantHandle(plan.variant, store)


def analyze(spec: str | VariantHandle | None = None, *, analyzers: str = "all", epochs: str | None = None,
            force: bool = False, store: str | os.PathLike | Store | None = None, device: str = "cpu",
            quiet: bool = False, options: dict | None = None, probe: str | None = None):
    """Run analyzers over a trained variant's checkpoints, exactly as `workbench analyze` does.

    Args:
        spec: a spec, or a VariantHandle (its store is used); None: the embedded demo.
        analyzers: "all" or a comma-separated list of analyzer names (`workbench analyzers`).
        epochs: only the checkpoints in this schedule spec, e.g. "0:1000:100" (default: all).
        force: recompute artifacts that are up to date.
        store: the store root or a Store (ignored for a VariantHandle).
        device: "cpu" or "cuda[:N]"; quiet: no progress bar and no summary line.
        options: analyzer options, part of each artifact's identity, e.g. {"key_rule": "strict"}
            or {"key_source": "logits"} for restricted_loss (analyzers/restricted_loss.py).
        probe: a named probe (`workbench probe add`): the row-wise analyzers run on its inputs.
    Returns:
        workbench.analysis.pipeline.AnalyzeResult: computed and skipped artifact counts, unreadable
        checkpoints (failed) and the detected turn.
    Raises:
        UserError for an unknown analyzer, a run that is not trained, or an unwritable store.
    """
    if isinstance(spec, VariantHandle):
        spec, store = spec.spec, spec.store
    with _no_widget_warning():
        return run_analysis(spec or demo_spec(), _as_store(store), analyzers=analyzers, epochs=epochs, force=force,
                            device=device, quiet=quiet, options=options, probe=probe)


class Trace(dict):
    """`trace`'s arrays (workbench.analysis.tracing) with the view that draws them."""

    def __init__(self, arrays: dict, handle: VariantHandle):
        super().__init__(arrays)
        self.handle = handle

    def figure(self, input: int = 0) -> Figure:
        """The trace view for traced input `input` (a row of self["inputs"])."""
        probe = str(self["probe"])
        return Figure(view_figure(self.handle.store, self.handle.key, "trace", None, input=input, probe=probe))


def trace(spec: str | VariantHandle, inputs, *, store: str | os.PathLike | Store | None = None,
          device: str = "cpu") -> Trace:
    """Follow inputs across every checkpoint: logit lens, attention, top neurons, key frequencies.

    Args:
        spec: a trained variant's spec, or a VariantHandle (its store is used).
        inputs: a probe name, an expression ("4+29, 17+96", "a < 3 and test"), or operand tuples.
        store: the store root or a Store (ignored for a VariantHandle).
    Returns:
        A Trace: a dict of arrays over epochs (workbench.analysis.tracing.trace) with `.figure(input)`.
        Computed once per checkpoint and cached in the store; a second call only reads.
    """
    handle = spec if isinstance(spec, VariantHandle) else load_variant(spec, store)
    with _no_widget_warning():
        return Trace(trace_inputs(handle.spec, handle.store, inputs, device=device), handle)


@dataclass(frozen=True)
class RunInfo:
    """One run in a store, as `list_runs` reports it."""

    spec: str  # canonical "family:key=value,..." (every parameter)
    epochs: int  # last checkpoint epoch
    target_epochs: int  # the epochs the run was started (or extended) to
    checkpoints: int
    analyzers: tuple[str, ...]  # analyzers with at least one artifact
    test_acc: float | None  # at the last evaluation
    markers: dict  # epoch markers such as {"turn_onset_epoch": 1450}, whole epochs

    def open(self, store: str | os.PathLike | Store | None = None) -> VariantHandle:
        """The run's VariantHandle (pass the store it was listed from)."""
        return load_variant(self.spec, store)


def list_runs(store: str | os.PathLike | Store | None = None) -> list[RunInfo]:
    """Every run in a store, with how far it trained, what was analyzed and how it came out.

    Args:
        store: the store root or a Store (default: $WORKBENCH_STORE or ./artifacts).
    Returns:
        One RunInfo per run, in the store's order; runs whose variant.json cannot be read are left out.
    """
    store = _as_store(store)
    runs = []
    for key in store.runs() if store.root.is_dir() else []:
        try:
            info = store.read_record(key)
            acc = store.read_metrics(key)["test_acc"] if store.has_metrics(key) else []
            markers = read_markers(store, key)
        except Exception:  # a damaged run: `workbench list` names the file and the problem
            continue
        ckpts = store.checkpoint_epochs(key)
        runs.append(RunInfo(info.variant, ckpts[-1] if ckpts else 0, info.epochs, len(ckpts),
                            tuple(store.analyzers_done(key)), float(acc[-1]) if len(acc) else None, markers))
    return runs


def list_groups(store: str | os.PathLike | Store | None = None, where: str | None = None) -> GroupTable:
    """The store's run groups (runs of a family differing only in its `seed_params`), as
    `workbench list --group` shows them.

    Args:
        store: the store root or a Store (default: $WORKBENCH_STORE or ./artifacts).
        where: a `--where` clause over the groups' shared params, n and means.
    Returns:
        A GroupTable: a list of `workbench.query.groups.Group` (each with `.stats[quantity]`, a
        Spread: n, mean, std, lo/hi of the 95% bootstrap interval, min, max); `.records()` flat
        dicts for pandas; `.outside` the runs in no group with the reason; prints as the listing.
    Raises:
        UserError for a malformed `where` or a store that cannot be read.
    """
    return group_table(_as_store(store), where=where)


def group_figure(group: Group | str, view: str, store: str | os.PathLike | Store | None = None, *,
                 band: str = "minmax", draw: str = "band", **options) -> Figure:
    """A trajectory view of a run group: its mean line with a band, its runs' thin lines, or both,
    and the turn of each run as a rug with the group's range (workbench.query.group_views).

    Args:
        group: a Group from `list_groups`, its spec or label, or a `--where` clause selecting one group.
        view: a view over training (loss_curves, dimensionality, ...).
        band: "minmax", "ci" (95% bootstrap interval of the mean) or "none"; draw: "band", "runs" or "both".
        **options: the view's options (e.g. log_x=True).
    Returns:
        A Figure; `.layout.meta["left_out"]` maps each run it could not draw to why.
    Raises:
        UserError for no or several matching groups, or an unknown view, band, draw or option.
    """
    store = _as_store(store)
    drawn = group_view_figure(store, group_keys(find_group(store, group)), view, band=band, draw=draw, **options)
    fig = Figure(drawn.figure)
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    fig.update_layout(meta={**meta, "left_out": {f"{k.family}:{k.variant}": why for k, why in drawn.left_out.items()}})
    return fig
