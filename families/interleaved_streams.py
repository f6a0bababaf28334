"""Interleaved streams: next-token prediction on two interleaved periodic streams, under
conditions that test whether a constrained transformer compensates by raising the
amplitude of its residual signal (A) or its variance (sigma^2) (issues 14 and 29; the
study is LostInSubSpace's clean_audit/experiments/exp_a_foundation.py).

Task. Each sequence interleaves two streams A1 B1 A2 B2 ...; each stream repeats its own
pattern (families/_streams_data.py: the pattern laws, fixed or fresh data, the scoring).
The label of position i is token i+1. `task=random` draws every token afresh (nothing is
predictable).

Conditions are two axes (issue 29): `constraint` in {none, frozen} and `clamp` in {none,
naive, mean}; the study's four conditions are control (none, none), constraint (frozen,
none), naive clamp (frozen, naive) and mean-preserving clamp (frozen, mean). The axes are
input fields folded into the stored `condition` (control, constraint, naive_clamp,
mean_clamp, constraint_naive_clamp, constraint_mean_clamp), so the runs of issue 14 keep
their names and meaning: condition=naive_clamp / mean_clamp is a clamp on an
*unconstrained* model.

- frozen, arch=causal: heads 0..n_frozen-1 of every layer stay at their init (their slices
  of W_Q, W_K, W_V, W_O, b_Q, b_K, b_V; b_O is shared by all heads and trains). frozen,
  arch=study: the whole attention layer, b_O included, as the study's
  `freeze_attention_heads` does whatever heads it is given (n_frozen is then unused). Frozen
  entries get zero gradient (a hook) and `after_step` writes their init back (undoing weight
  decay exactly).
- naive clamp: the clamp site is rescaled so its mean per-token L2 norm over the batch's
  tokens equals the control's calibrated norm; mean clamp: the site's per-dimension mean
  over tokens is kept and the centered part rescaled to the control's calibrated std
  (families/_streams_sites.py: the sites, the statistics, which site is inert).

Architectures (`arch`): causal (default) is `families._gpt.GPT` (pre-LayerNorm, causal
attention, d_mlp = 4 d_model, no dropout); study is the study's post-LayerNorm block with
dropout 0.1, d_mlp = d_model and no attention mask (families/_streams_study.py);
`attn_mask=causal` adds the mask to it (the one-factor control of the leak).

Calibration: a clamped variant carries `calib_norm` and `calib_std`, measured by
`calibrated_spec` at its clamp site on the probe batch (`probe_rows`) at the final
checkpoint of its control run: the same params with constraint and clamp none (seed
`control_seed`, default this run's seed). `python bench/interleaved.py calibrate SPEC
[--store DIR]` prints the calibrated spec, or one line naming the missing control run.

Measurements of issue 14 were single-seed, and most clamped the last block's resid_post,
where a naive clamp provably does nothing (the final LayerNorm divides it out); they are
not findings. New runs refuse that site for the naive clamp; bench/RESULTS.md (issue 29)
has the multi-seed comparison.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from families._gpt import GPT, GPTShape, init_state, to_bridge
from families._streams_data import (FRESH_ROWS, PATTERN_LENGTHS, eval_sequences, fresh_draw, labels_for,
                                    make_sequences, scored)
from families._streams_sites import (amplitude, centered_variance, clamp_fn, inert_reason, mean_clamp, naive_clamp,
                                     probe_metrics, sigma2_token, site_name)
from families._streams_study import STUDY_DROPOUT, StudyAnalysis, study_forward, study_init
from workbench.core.capabilities import Capabilities
from workbench.core.errors import UserError
from workbench.core.family import IGNORE, BatchDraw, ComparePreset, Family, TaskData, register_family
from workbench.core.naming import hooked_name
from workbench.core.recipe import Recipe
from workbench.core.variant import Variant, parse_variant

__all__ = ["InterleavedStreams", "InterleavedParams", "make_sequences", "naive_clamp", "mean_clamp",
           "amplitude", "centered_variance", "sigma2_token", "probe_rows", "control_variant", "calibration_control",
           "calibrated_spec", "PATTERN_LENGTHS", "HEAD_SLICED", "CONDITIONS", "FRESH_ROWS", "scored"]

HEAD_SLICED = ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V")  # per-head weights (head axis first)
PROBE_ROWS = 128  # validation sequences in the probe batch (metrics, analysis, calibration)
# (frozen, clamp) -> the stored condition; the first four are issue 14's values, unchanged in meaning
CONDITIONS = {(False, None): "control", (True, None): "constraint", (False, "naive"): "naive_clamp",
              (False, "mean"): "mean_clamp", (True, "naive"): "constraint_naive_clamp",
              (True, "mean"): "constraint_mean_clamp"}
_AXES = {v: k for k, v in CONDITIONS.items()}
_WHEN_SET = {"in_name": "when_set"}
_DEFAULTS = {"arch": "causal", "data": "fixed", "patterns": "distinct_2_8", "scoring": "predictable"}  # what None means
STUDY_STEPS = 7850  # data=fresh: the study's 50 epochs of 157 batches
_SEED = {"ge": 0, "lt": 2**63}


def default_site(condition: str) -> str:
    """The clamp site when none is set: the study's (final_ln_out) for a clamp on the constrained
    model (issue 29's conditions), resid_post for issue 14's clamps (their runs' meaning)."""
    return "final_ln_out" if condition.startswith("constraint_") else "resid_post"


class InterleavedParams(BaseModel):
    """Defaults are the CPU demo scale; configs/interleaved_*.yaml and configs/streams_*.yaml hold other settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    vocab_size: int = Field(512, ge=8, le=65536, description="tokens (>= 8: a pattern of 8 has distinct tokens)")
    seq_len: int = Field(128, ge=4, le=2048, description="tokens per sequence (the model's n_ctx)")
    n_train_seqs: int = Field(4000, ge=1, le=1_000_000, description="training sequences (data=fixed)")
    n_val_seqs: int = Field(500, ge=1, le=1_000_000, description="validation sequences (none in training)")
    d_model: int = Field(80, ge=4, le=1024, description="residual width (study: 40, 80, 128)")
    n_layers: int = Field(1, ge=1, le=12, description="transformer blocks")
    n_heads: int = Field(4, ge=1, le=64, description="attention heads per block")
    condition: Literal["control", "constraint", "naive_clamp", "mean_clamp", "constraint_naive_clamp",
                       "constraint_mean_clamp"] = Field("control", description="stored form of the constraint and clamp axes")
    constraint: Literal["none", "frozen"] | None = Field(None, json_schema_extra=_WHEN_SET,
                                                         description="input axis, folded into condition")
    clamp: Literal["none", "naive", "mean"] | None = Field(None, json_schema_extra=_WHEN_SET,
                                                           description="input axis, folded into condition")
    n_frozen: int = Field(3, ge=0, le=64, description="frozen, arch=causal: heads frozen at init, from head 0")
    clamp_layer: int | None = Field(None, ge=0, le=11, json_schema_extra=_WHEN_SET,
                                    description="the block of a block clamp site (default: the last)")
    clamp_site: Literal["resid_post", "attn_out", "mlp_out", "final_ln_out"] | None = Field(
        None, json_schema_extra=_WHEN_SET,
        description="where a clamp acts (default: final_ln_out, the study's, on the constrained model; else resid_post)")
    arch: Literal["causal", "study"] | None = Field(None, json_schema_extra=_WHEN_SET,
                                                    description="causal (default): pre-LN GPT; study: the study's post-LN model")
    attn_mask: Literal["causal"] | None = Field(None, json_schema_extra=_WHEN_SET,
                                                description="arch=study: add a causal mask (default: none, as the study)")
    data: Literal["fixed", "fresh"] | None = Field(None, json_schema_extra=_WHEN_SET,
                                                   description="fixed (default) sets, or fresh sequences every step")
    patterns: Literal["distinct_2_8", "study_2_7"] | None = Field(None, json_schema_extra=_WHEN_SET,
                                                                  description="pattern law (default distinct_2_8)")
    scoring: Literal["predictable", "all"] | None = Field(None, json_schema_extra=_WHEN_SET,
                                                          description="labelled positions (default predictable)")
    task: Literal["patterned", "random"] = Field("patterned", description="random: no repeats (unlearnable)",
                                                 json_schema_extra=_WHEN_SET)
    control_seed: int | None = Field(None, **_SEED, description="clamps: the control run's seed (default: seed)",
                                     json_schema_extra=_WHEN_SET)
    calib_norm: float | None = Field(None, gt=0, allow_inf_nan=False, json_schema_extra=_WHEN_SET,
                                     description="clamps: the control's mean per-token L2 norm (from calibrate)")
    calib_std: float | None = Field(None, gt=0, allow_inf_nan=False, json_schema_extra=_WHEN_SET,
                                    description="clamps: the control's centered-residual std (from calibrate)")
    seed: int = Field(0, **_SEED, description="model init seed")
    data_seed: int = Field(0, **_SEED, description="seed of the sequences")

    @model_validator(mode="before")
    @classmethod
    def _one_spelling(cls, data):
        """constraint/clamp -> condition, and an explicit default -> None: one stored spelling per run."""
        if not isinstance(data, dict):
            return data
        data = {**data} | {k: None for k, v in _DEFAULTS.items() if data.get(k) == v}
        if data.get("constraint") is not None or data.get("clamp") is not None:
            clamp = data.get("clamp")
            if data.get("constraint") not in (None, "none", "frozen") or clamp not in (None, "none", "naive", "mean"):
                raise ValueError("constraint is one of none, frozen and clamp one of none, naive, mean; "
                                 f"got constraint={data.get('constraint')!r}, clamp={clamp!r}")
            folded = CONDITIONS[(data.get("constraint") == "frozen", None if clamp in (None, "none") else clamp)]
            if data.get("condition", folded) != folded:
                raise ValueError(f"condition={data['condition']} contradicts constraint/clamp (they give {folded})")
            data = {**data, "condition": folded, "constraint": None, "clamp": None}
        condition = data.get("condition", "control")
        if data.get("clamp_site") is not None and isinstance(condition, str) and data["clamp_site"] == default_site(condition):
            data = {**data, "clamp_site": None}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "InterleavedParams":
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not a multiple of n_heads={self.n_heads}")
        if self.frozen and not self.study and not 0 < self.n_frozen < self.n_heads:
            raise ValueError(f"a frozen constraint needs 0 < n_frozen < n_heads={self.n_heads}, got n_frozen={self.n_frozen}")
        clamp = self.clamp_kind is not None
        if clamp and (self.calib_norm is None or self.calib_std is None):
            raise ValueError(f"{self.condition} needs calib_norm and calib_std from its control run: "
                             "`python bench/interleaved.py calibrate SPEC` prints the calibrated spec")
        if not clamp and (self.calib_norm, self.calib_std, self.control_seed, self.clamp_site) != (None,) * 4:
            raise ValueError("calib_norm, calib_std, control_seed and clamp_site apply to clamped conditions only")
        if self.clamp_layer is not None and self.clamp_layer >= self.n_layers:
            raise ValueError(f"clamp_layer={self.clamp_layer} needs clamp_layer < n_layers={self.n_layers}")
        if self.site == "final_ln_out" and self.clamp_layer is not None:
            raise ValueError("clamp_site=final_ln_out is after every block: clamp_layer does not apply")
        if self.attn_mask is not None and not self.study:
            raise ValueError("attn_mask applies to arch=study (arch=causal is always causal)")
        return self

    @property
    def frozen(self) -> bool:
        return _AXES[self.condition][0]

    @property
    def clamp_kind(self) -> str | None:
        """None, "naive" or "mean"."""
        return _AXES[self.condition][1]

    @property
    def site(self) -> str:
        """The clamp site in effect (`default_site` when clamp_site is not set)."""
        return self.clamp_site or default_site(self.condition)

    @property
    def study(self) -> bool:
        return self.arch == "study"


def _shape(params: InterleavedParams) -> GPTShape:
    d_mlp = params.d_model if params.study else 4 * params.d_model  # the study's FF has no expansion
    return GPTShape(n_layers=params.n_layers, n_heads=params.n_heads, d_model=params.d_model,
                    d_head=params.d_model // params.n_heads, d_mlp=d_mlp, d_vocab=params.vocab_size,
                    d_vocab_out=params.vocab_size, n_ctx=params.seq_len, normalization="LN", answer_only=False)


def _init(params: InterleavedParams) -> dict[str, torch.Tensor]:
    return (study_init if params.study else init_state)(_shape(params), params.seed)


def _frozen_mask(params: InterleavedParams, name: str, p: torch.Tensor) -> torch.Tensor | None:
    """The keep mask (1 trains, 0 frozen) of parameter `name` under the frozen constraint, or None."""
    leaf = hooked_name(name)
    if params.study:  # the study freezes the whole attention layer
        return torch.zeros_like(p) if ".attn." in leaf else None
    if leaf.rsplit(".", 1)[1] not in HEAD_SLICED:
        return None
    keep = torch.ones_like(p)
    keep[: params.n_frozen] = 0
    return keep


class StreamsGPT(GPT):
    """GPT (or, arch=study, the study's post-LN model) with the condition's frozen attention and clamp.

    `capture` set: `captured` maps every site's hook name to its tensor (after the clamp),
    and "pre_clamp" to the clamp site's tensor before it. `site` is where the clamp acts."""

    def __init__(self, params: InterleavedParams, state: dict[str, torch.Tensor]):
        super().__init__(_shape(params), state)
        self.params = params
        self.clamp, self.site = clamp_fn(params), site_name(params)
        self.capture, self.captured = False, {}
        self.site_fn = self._site
        self.stochastic = params.study
        self._gen: torch.Generator | None = None  # a training forward's dropout generator
        self.frozen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # param -> (keep mask, init values)
        if params.frozen:
            init = _init(params)  # frozen entries are their init, also after a resume
            for name, p in self.named_parameters():
                keep = _frozen_mask(params, name, p)
                if keep is not None:
                    self.frozen[name] = (keep, init[hooked_name(name)].clone())
                    p.register_hook(lambda g, keep=keep: g * keep.to(g.device))

    def _one(self, w: dict[str, torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
        if not self.params.study:
            return super()._one(w, tokens)
        mask = self.causal_mask if self.params.attn_mask == "causal" else None
        return study_forward(self.shape, w, tokens, mask, self.site_fn, self._gen, STUDY_DROPOUT)

    def _site(self, name: str, x: torch.Tensor) -> torch.Tensor:
        if name == self.site:
            if self.capture:
                self.captured["pre_clamp"] = x
            x = self.clamp(x) if self.clamp is not None else x
        if self.capture:
            self.captured[name] = x
        return x

    def before_step(self, step: int, generator: torch.Generator) -> None:
        self._gen = generator if self.stochastic else None

    @torch.no_grad()
    def after_step(self) -> None:
        """Drop the dropout generator; write the frozen entries' initial values back."""
        self._gen = None
        params = dict(self.named_parameters())
        for name, (keep, init) in self.frozen.items():
            p = params[name]
            p.copy_(torch.where(keep.to(p.device) > 0, p, init.to(p.device)))


def probe_rows(params: InterleavedParams) -> torch.Tensor:
    """Row indices of the probe batch: the first PROBE_ROWS validation sequences."""
    n_train = params.n_val_seqs if params.data == "fresh" else params.n_train_seqs
    return n_train + torch.arange(min(PROBE_ROWS, params.n_val_seqs))


# ----------------------------------------------------------------------------- family
@register_family
class InterleavedStreams(Family):
    name = "interleaved_streams"
    description = "next token on two interleaved periodic streams; frozen attention and amplitude clamps (issues 14, 29)"
    Params = InterleavedParams
    demo = {"params": {}, "epochs": 8, "schedule": "0:9:1", "eval_every": 1}
    tiny = {"params": {"vocab_size": 16, "seq_len": 16, "n_train_seqs": 96, "n_val_seqs": 16, "d_model": 16},
            "epochs": 6, "schedule": "0:6:2", "recipe": {"batch_size": 32}}
    # issue 14's table (clamps on the unconstrained model, its runs' metrics) and the study's
    # (issue 29: clamps on the constrained model), each the conditions of one setting side by side
    compare_presets = {
        "four conditions": ComparePreset(
            vary=("condition", "n_frozen", "control_seed", "calib_norm", "calib_std"),
            metrics=("test_acc", "last_acc", "amplitude", "sigma2"),
            ratios=(("mean-preserving ÷ constraint accuracy", "test_acc", {"condition": "mean_clamp"},
                     {"condition": "constraint"}),)),
        # issue 29 item 7: every seed of the four conditions, arch=study beside arch=causal
        "study's four conditions": ComparePreset(
            vary=("condition", "n_frozen", "control_seed", "calib_norm", "calib_std", "clamp_site"),
            metrics=("acc_all", "last_acc", "A_final", "s2tok_final", "A_study", "s2tok_study"),
            ratios=(("mean-preserving ÷ constraint, last-position accuracy", "last_acc",
                     {"condition": "constraint_mean_clamp"}, {"condition": "constraint"}),
                    ("mean-preserving ÷ constraint, all-position accuracy", "acc_all",
                     {"condition": "constraint_mean_clamp"}, {"condition": "constraint"})),
            spread=True, split="arch", reference="constraint", absent={"arch": "causal"}),
        # issue 29 item 3: the unmasked study model's control against the same with a causal
        # mask; attn_next (attention_offsets) is the mass each query puts on its own target
        "the leak: study control without and with the mask": ComparePreset(
            vary=("attn_mask",), metrics=("acc_all", "last_acc", "attn_next"), spread=True, reference="causal",
            absent={"attn_mask": "none (study)"})}

    def shape(self, params: InterleavedParams) -> GPTShape:
        return _shape(params)

    def data(self, params: InterleavedParams) -> TaskData:
        tokens, lengths = eval_sequences(params)
        n_train = params.n_val_seqs if params.data == "fresh" else params.n_train_seqs
        train_mask = torch.arange(len(tokens)) < n_train
        return TaskData(tokens[:, :-1].contiguous(), labels_for(tokens, lengths, params), train_mask)

    def fresh_batches(self, params: InterleavedParams) -> BatchDraw | None:
        return fresh_draw(params) if params.data == "fresh" else None

    def check_new_run(self, params: InterleavedParams) -> None:
        reason = inert_reason(params)
        if reason is not None:
            raise ValueError(reason)

    def probe(self, params: InterleavedParams) -> TaskData:
        """Analysis runs on the probe batch (`probe_rows`: validation sequences only), not on
        every sequence: vocab x seq_len logits over thousands of sequences would take GBs."""
        data, rows = self.data(params), probe_rows(params)
        return TaskData(data.inputs[rows], data.labels[rows], data.train_mask[rows])

    def init_state(self, params: InterleavedParams) -> dict[str, torch.Tensor]:
        return _init(params)

    def train_module(self, params: InterleavedParams, state: dict[str, torch.Tensor]) -> StreamsGPT:
        if isinstance(state, list):
            raise ValueError("interleaved_streams trains one model at a time (stackable = False)")
        return StreamsGPT(params, state)

    def tl_model(self, params: InterleavedParams, state: dict[str, torch.Tensor], device: str = "cpu"):
        if params.study:  # no TransformerLens bridge for a post-LN block: the module itself, with hook points
            return StudyAnalysis(StreamsGPT(params, state).to(device), params.n_layers).eval()
        bridge = to_bridge(_shape(params), state, device)
        clamp = clamp_fn(params)
        if clamp is not None:  # the analysis model clamps as training did (over the probe batch)
            bridge.add_hook(site_name(params), lambda r, hook: clamp(r), is_permanent=True)
        return bridge

    def recipe(self, params: InterleavedParams) -> Recipe:
        if params.data == "fresh":  # the study's: Adam (no weight decay), lr 1e-3; an epoch is one step
            return Recipe(epochs=STUDY_STEPS, optimizer="adamw", lr=1e-3, weight_decay=0.0, betas=(0.9, 0.999),
                          batch_size=64, eval_every=157)
        return Recipe(epochs=8, optimizer="adamw", lr=1e-3, weight_decay=0.1, betas=(0.9, 0.98), batch_size=64,
                      eval_every=1)

    def schedule(self, params: InterleavedParams) -> str:
        return f"0:{STUDY_STEPS + 1}:785" if params.data == "fresh" else "0:51:1"

    def capabilities(self, params: InterleavedParams) -> Capabilities:
        layers = range(params.n_layers)
        resid = ["blocks.0.hook_resid_pre"] + [f"blocks.{i}.hook_resid_{s}" for i in layers for s in ("mid", "post")]
        return Capabilities(transformer=not params.study, sequence=True, n_layers=params.n_layers,
                            n_heads=params.n_heads, final_ln=not params.study,
                            attention_hooks=[f"blocks.{i}.attn.hook_pattern" for i in layers], resid_hooks=resid)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the scored positions: logits [..., rows, pos, vocab] -> [...]."""
        per_token = torch.nn.functional.cross_entropy(logits.flatten(0, -2), labels.flatten(), reduction="none",
                                                      ignore_index=IGNORE).view(labels.shape)
        n = (labels != IGNORE).flatten(-2).sum(-1).clamp(min=1)
        return per_token.flatten(-2).sum(-1) / n

    def extra_metrics(self, module: StreamsGPT, logits, data: TaskData) -> list[dict[str, float]]:
        """Over the probe batch: accuracies and the A, sigma^2 statistics (`probe_metrics`)."""
        rows = torch.nonzero(~data.train_mask).flatten()[:PROBE_ROWS]
        if len(rows) == 0:
            return []
        device = module.causal_mask.device
        tokens, lengths = eval_sequences(module.params)
        pred = scored(lengths[rows], module.params.seq_len).to(device)
        return [probe_metrics(module, data.inputs[rows].to(device), tokens[rows, 1:].to(device), pred)]


# ----------------------------------------------------------------------------- calibration
def control_variant(variant: Variant) -> Variant:
    """The control run a clamped `variant` calibrates from: same params, no constraint and no clamp."""
    p = variant.params
    params = p.model_copy(update={"condition": "control", "n_frozen": InterleavedParams.model_fields["n_frozen"].default,
                                  "control_seed": None, "calib_norm": None, "calib_std": None, "clamp_site": None,
                                  "clamp_layer": None, "seed": p.seed if p.control_seed is None else p.control_seed})
    return Variant(variant.family, InterleavedParams.model_validate(params.model_dump()), variant.recipe_overrides)


def calibration_control(spec: str) -> Variant:
    """The control variant that clamped variant `spec` calibrates from (UserError unless it is a clamp).

    The caller reads that run's final checkpoint (bench/interleaved.py `calibrate` does, from
    a store) and passes its weights to `calibrated_spec`."""
    variant = parse_variant(spec, overrides={"calib_norm": 1.0, "calib_std": 1.0})
    if variant.params.clamp_kind is None:
        raise UserError(f"calibrate takes a clamped variant, got condition={variant.params.condition}")
    return control_variant(variant)


def calibrated_spec(spec: str, control_state: dict[str, torch.Tensor]) -> str:
    """The spec of clamped variant `spec` with calib_norm and calib_std measured at its clamp
    site on its control run's final weights `control_state` (HookedTransformer names)."""
    clamped = parse_variant(spec, overrides={"calib_norm": 1.0, "calib_std": 1.0}).params
    control = calibration_control(spec)
    params, family = control.params, control.family
    module = family.train_module(params, control_state)
    module.site = site_name(clamped)  # read the control where the clamp will act
    module.capture = True
    with torch.no_grad():
        module(family.data(params).inputs[probe_rows(params)])
    x = module.captured[module.site]
    # 4 significant digits: the values are in the run's name, which must fit a file name (255 bytes)
    norm, std = (float(f"{float(v):.4g}") for v in (amplitude(x), centered_variance(x).sqrt()))
    return parse_variant(spec, overrides={"calib_norm": norm, "calib_std": std}).spec
