"""The analyzer contract and registry: analyzer name -> AnalyzerSpec.

An analyzer is one file in a plugin package (the built-in ones are in `analyzers/`)
holding a function decorated with `register_analyzer`.
Per-epoch analyzers (scope "epoch") take an `EpochContext` and write
`analysis/<name>/epoch_XXXXXX.npz`; cross-epoch analyzers (scope "summary") take a
`SummaryContext` and write `analysis/<name>/summary.npz`. Both return
`dict[str, np.ndarray]` matching their declared `outputs` exactly.

An analyzer declares `needs`: the family capabilities it requires (workbench.core.capabilities),
checked against the capability schema when it registers, so a misspelled need fails at import.
Its effective needs add those of the analyzers it `requires` or `reference`, so a summary
over an analyzer that does not apply does not apply either. `hooks` is a tuple of hook
names or a function of the capabilities, so per-layer names come from the family's
`neuron_hooks` / `attention_hooks` / `resid_hooks` lists, never from a literal layer.

A group-scope analyzer (scope "group") reads several runs of one family at once: a
`GroupContext` with, per run, the per-epoch artifacts it `requires` stacked over that run's
checkpoints (workbench.analysis.group writes its artifact for the group). `list_analyzers`
lists the run-level analyzers (epoch and summary) unless asked for scope "group".

A per-epoch analyzer may declare a `null`: the chance level its measure is read against
(NULLS: "permutation": its inputs shuffled, the probe rows of activations and logits, or the
entries of each weight matrix for a weights analyzer, at the final checkpoint; "init": the same
measure at the run's epoch-0 checkpoint; "random": freshly initialized networks of the same
shape). The pipeline computes it once per run over several seeded draws (workbench.analysis
.nulls) for the `null_outputs` (default: its headline outputs), and headlines state each
value's percentile against it (workbench.core.nulls). It may declare several (`null=("permutation",
"random")`): the first is its null as before, each further one is stored and read beside it
under its kind, because "not noise" is not "learned" (an untrained network's neuron fit is
already far above its shuffled maps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

from workbench.core.capabilities import CapsLike, as_caps_dict, check_need, unmet
from workbench.core.registry import Registry

__all__ = ["AnalyzerSpec", "register_analyzer", "list_analyzers", "get_analyzer", "resolve_analyzers", "analyzer_needs",
           "unmet_needs", "KINDS", "VALUE_KINDS", "NULLS"]

Caps = Mapping[str, Any]  # a family's capabilities as a dict (Capabilities.as_dict)
Hooks = tuple[str, ...] | Callable[[Caps], tuple[str, ...]]

KINDS = ("weights", "activations", "attention", "output", "trajectory")
# what an output's values are, beyond its dims: real numbers (the default), float16 reals,
# integers (indices, counts), 1-based Fourier frequencies, booleans, epochs, or labels
# (text naming the positions of an axis); workbench.testing draws synthetic artifacts by it
VALUE_KINDS = ("real", "half", "int", "freq", "bool", "epoch", "label")
NULLS = ("permutation", "init", "random")  # what an analyzer's chance level is computed on (module docstring)


@dataclass(frozen=True)
class AnalyzerSpec:
    name: str
    kind: str  # one of KINDS
    scope: Literal["epoch", "summary", "group"]
    fn: Callable
    outputs: dict[str, tuple[str, ...]]  # array name -> dim names (its rank is len(dims))
    hooks: Hooks = ()  # TransformerLens hook names the cache must hold, or caps -> those names
    version: int = 1
    description: str = ""
    requires: tuple[str, ...] = field(default=())  # per-epoch analyzers a summary reads
    # per-epoch analyzers whose artifact at the run's FINAL checkpoint this analyzer reads
    # through `ctx.reference(name)` (e.g. key frequencies fixed once from the final model)
    reference: tuple[str, ...] = field(default=())
    # scalar outputs of a summary analyzer that are epoch markers (e.g. a turn's onset),
    # which `list`, the report and the dashboard show without naming the analyzer
    markers: tuple[str, ...] = field(default=())
    needs: tuple[str, ...] = field(default=())  # capabilities the family must have (workbench.core.capabilities)
    # output -> headline name: outputs whose value is a run's headline, shown by `list`, the
    # report and the compare table: a per-epoch analyzer's at the run's last analyzed
    # checkpoint (e.g. its key frequencies), a summary's from its summary (e.g. primes whose
    # accuracy regressed). Headline names are unique across analyzers.
    headlines: dict[str, str] = field(default_factory=dict)
    # panel id -> (output, column or None, title): a summary's per-epoch series that the
    # compare page overlays across variants; a 2-D output's column is picked by its name in
    # the `<axis>_names` output (e.g. "W_E" in matrix_names). Panel ids are unique.
    trajectories: dict[str, tuple[str, str | None, str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # output -> one of VALUE_KINDS, where not the default
    null: str | None = None  # one of NULLS: the chance level its `null_outputs` are read against
    null_outputs: tuple[str, ...] = field(default=())  # real-valued outputs the null artifact holds, per draw
    more_nulls: tuple[str, ...] = field(default=())  # further NULLS the same outputs are read against

    @property
    def nulls(self) -> tuple[str, ...]:
        """Every declared null kind, the first (`null`) first; () without one."""
        return (self.null, *self.more_nulls) if self.null else ()

    # reads the probe row by row (no p x p grid, no whole-probe statistic), so it runs on a
    # named probe's rows too (workbench.core.probes); the others run on the canonical probe only
    rows: bool = False

    # computed only where another analyzer references it, never over every checkpoint
    reference_only: bool = False
    # the analyzer option naming the checkpoint epoch it is referenced at (default: the run's final one)
    reference_epoch: str | None = None
    # check(options, caps, weight shapes) raises ValueError for options this family's model cannot take;
    # the pipeline runs it before anything is written (one line, exit 2)
    check: Callable[[Mapping[str, Any], Caps, Mapping[str, tuple]], None] | None = None

    def value_kind(self, output: str) -> str:
        """What `output`'s values are: its declared kind, else a label for `<axis>_names`, an
        epoch for a marker or the `epochs` of a summary, else a real number."""
        if output in self.kinds:
            return self.kinds[output]
        if output in self.markers or output == "epochs":
            return "epoch"
        return "label" if output.endswith("_names") else "real"

    def hook_names(self, caps: CapsLike) -> tuple[str, ...]:
        """The hooks this analyzer reads for a family with capabilities `caps`."""
        return tuple(self.hooks(as_caps_dict(caps))) if callable(self.hooks) else tuple(self.hooks)


_ANALYZERS: Registry[AnalyzerSpec] = Registry("analyzer", "workbench.analyzers")  # analyzer name -> AnalyzerSpec


def register_analyzer(name: str, *, kind: str, outputs: dict[str, tuple[str, ...]], hooks: Hooks = (),
             version: int = 1, scope: Literal["epoch", "summary", "group"] = "epoch", requires: tuple[str, ...] = (),
             reference: tuple[str, ...] = (), markers: tuple[str, ...] = (), needs: tuple[str, ...] = (),
             headlines: tuple[str, ...] | Mapping[str, str] = (),
             trajectories: Mapping[str, tuple[str, str | None, str]] | None = None,
             kinds: Mapping[str, str] | None = None, null: str | tuple[str, ...] | None = None,
             null_outputs: tuple[str, ...] = (), rows: bool = False, reference_only: bool = False,
             reference_epoch: str | None = None, check: Callable | None = None):
    """Decorator recording an analyzer's metadata; the docstring's first line describes it.

    `headlines` names outputs (each its own headline name) or maps output -> headline name;
    `trajectories` maps a compare-panel id -> (output, column or None, title); `kinds` maps
    an output -> what its values are (VALUE_KINDS), where that is not `AnalyzerSpec.value_kind`'s default;
    `null` (one of NULLS, or several: the first is the null, the others are read beside it)
    declares a chance level for `null_outputs` (default: the headline outputs).
    `rows`: it reads the probe row by row, so it runs on named probes (AnalyzerSpec.rows).
    `reference_only`, `reference_epoch` and `check`: see AnalyzerSpec.
    """
    needs = tuple(check_need(n) for n in needs)
    if kind not in KINDS:
        raise ValueError(f"analyzer {name!r}: kind must be one of {KINDS}, got {kind!r}")
    if markers and (scope != "summary" or any(m not in outputs or outputs[m] for m in markers)):
        raise ValueError(f"analyzer {name!r}: markers must be scalar outputs of a summary analyzer")
    headlines = dict(headlines) if isinstance(headlines, Mapping) else {h: h for h in headlines}
    trajectories = dict(trajectories or {})
    if any(h not in outputs for h in headlines):
        raise ValueError(f"analyzer {name!r}: headlines must be among its outputs")
    if trajectories and (scope != "summary" or any(
            out not in outputs or outputs[out][:1] != ("epoch",) or (col is not None) != (len(outputs[out]) == 2)
            or (col is not None and f"{outputs[out][1]}_names" not in outputs)
            for out, col, _ in trajectories.values())):
        raise ValueError(f"analyzer {name!r}: trajectories must be a summary's outputs over ('epoch',), or over "
                         "('epoch', axis) with a column named in its '<axis>_names' output")
    _check_unique(name, "headline", set(headlines.values()), lambda a: set(a.headlines.values()))
    _check_unique(name, "trajectory", set(trajectories), lambda a: set(a.trajectories))
    kinds = dict(kinds or {})
    if any(k not in outputs or v not in VALUE_KINDS for k, v in kinds.items()):
        raise ValueError(f"analyzer {name!r}: kinds map its outputs to one of {VALUE_KINDS}")
    if reference and scope != "epoch":
        raise ValueError(f"analyzer {name!r}: only per-epoch analyzers read a final-checkpoint reference")
    if scope == "group" and (not requires or headlines or markers):
        raise ValueError(f"analyzer {name!r}: a group analyzer requires per-epoch analyzers and has no headlines or markers")
    kinds_of_null = (null,) if isinstance(null, str) else tuple(null or ())
    null_outputs = _check_null(name, scope, kinds_of_null, tuple(null_outputs) or tuple(headlines), outputs, kinds)
    if (reference_only or reference_epoch) and scope != "epoch":
        raise ValueError(f"analyzer {name!r}: only a per-epoch analyzer is computed as a reference")

    def wrap(fn: Callable) -> Callable:
        doc = (fn.__doc__ or "").strip().splitlines()
        declared = hooks if callable(hooks) else tuple(hooks)
        _ANALYZERS.add(name, AnalyzerSpec(name, kind, scope, fn, dict(outputs), declared, version,
                                          doc[0] if doc else "", tuple(requires), tuple(reference), tuple(markers),
                                          needs, headlines, trajectories, kinds, (kinds_of_null or (None,))[0],
                                          null_outputs, kinds_of_null[1:], rows and scope == "epoch",
                                          reference_only, reference_epoch, check))
        return fn

    return wrap


def _check_null(name: str, scope: str, nulls: tuple[str, ...], null_outputs: tuple[str, ...],
                outputs: Mapping[str, tuple[str, ...]], kinds: Mapping[str, str]) -> tuple[str, ...]:
    """The validated outputs the declared nulls cover (() without a null)."""
    if not nulls:
        return ()
    if any(n not in NULLS for n in nulls) or len(set(nulls)) != len(nulls) or scope != "epoch":
        raise ValueError(f"analyzer {name!r}: null must be one of {NULLS} (or several, each once), on a per-epoch "
                         f"analyzer; got {nulls!r}")
    if not null_outputs or any(o not in outputs or kinds.get(o, "real") != "real" for o in null_outputs):
        raise ValueError(f"analyzer {name!r}: a null needs null_outputs (or headlines) among its real-valued outputs")
    return null_outputs


def _check_unique(name: str, what: str, mine: set[str], theirs: Callable[[AnalyzerSpec], set[str]]) -> None:
    """Refuse a headline or trajectory name another analyzer declared: both would show under one name."""
    for other in _ANALYZERS.list_():
        clash = mine & theirs(_ANALYZERS.get(other))
        if clash and other != name:
            raise ValueError(f"analyzer {name!r}: {what} {sorted(clash)[0]!r} is already declared by {other!r}")


def list_analyzers(scope: str | None = None, kind: str | None = None, caps: CapsLike | None = None) -> list[str]:
    """Registered analyzer names, optionally of one scope or kind, or only those that apply to `caps`;
    without a scope, the run-level ones (epoch and summary: group analyzers only when asked for)."""
    return _ANALYZERS.list_(lambda a: (a.scope == scope if scope else a.scope != "group") and (kind is None or a.kind == kind)
                            and (caps is None or not unmet_needs(a.name, caps)))


def analyzer_needs(name: str) -> tuple[str, ...]:
    """An analyzer's own needs and, recursively, those of the analyzers it requires or references."""
    spec = _ANALYZERS.get(name)
    inherited = [n for dep in spec.requires + spec.reference for n in analyzer_needs(dep)]
    return tuple(dict.fromkeys(spec.needs + tuple(inherited)))


def unmet_needs(name: str, caps: CapsLike) -> list[str]:
    """The needs of analyzer `name` that a family with capabilities `caps` does not meet."""
    return unmet(analyzer_needs(name), caps)


def get_analyzer(name: str) -> AnalyzerSpec:
    return _ANALYZERS.get(name)


def resolve_analyzers(names: str) -> list[str]:
    """'all' or 'a,b' -> validated names (UserError naming the valid choices otherwise)."""
    return _ANALYZERS.resolve(names)
