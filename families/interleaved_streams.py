"""Interleaved streams: next-token prediction on two interleaved periodic streams, under
four conditions that test whether a constrained transformer compensates by raising the
amplitude of its residual signal (A) or its variance (sigma^2) (issue 14).

Task. Each sequence interleaves two streams A1 B1 A2 B2 ...; each stream repeats its own
pattern, of a length drawn uniformly from [2, 8], of tokens drawn from `vocab_size`
(distinct within a pattern, so a stream's period is its pattern length; the two patterns
are drawn independently). The label of position i is token i+1; it is scored only where
that token's stream has shown its whole pattern once (stream index >= pattern length),
else it is IGNORE. Predicting the next A token means reading A tokens two positions
apart, past the B tokens in between. `task=random` draws every token afresh (no pattern):
the same positions are scored but nothing is predictable. Train and validation sets are
fixed, drawn once from `data_seed`, and share no sequence.

Model: `families._gpt.GPT` with logits at every position (1 layer, 4 heads, pre-LayerNorm,
final LayerNorm, d_mlp = 4 d_model, learned positions).

Conditions:
- control: every parameter trains.
- constraint: heads 0..n_frozen-1 of every layer stay at their init. Their slices of W_Q,
  W_K, W_V, W_O, b_Q, b_K, b_V get zero gradient (a gradient hook, so clipping and Adam's
  moments never see them) and `after_step` writes the initial values back after every
  optimizer step, which also undoes weight decay on them (exactly: a copy). b_O is one
  vector shared by all heads, not a head's slice, so it trains.
- naive_clamp: block `clamp_layer`'s hook_resid_post (default: the last block's) is
  rescaled so that its mean per-token L2 norm over the batch's tokens equals the control's
  calibrated norm.
- mean_clamp: that hook_resid_post has its per-dimension mean over the batch's tokens
  subtracted, the centered residual rescaled so its std (over tokens and dimensions)
  equals the control's calibrated std, and the mean added back.

A caution the measurements taught us (bench/RESULTS.md): the last block's output goes
straight into the final LayerNorm, which is invariant to a common rescaling of its input.
So a naive clamp of the last block changes nothing downstream (its run matches the
control's to three digits) and A there does not reach the output at all; only the mean
clamp, which changes each token's direction, acts. To test the hypothesis where amplitude
can matter, clamp an earlier block of a deeper model (e.g. n_layers=2, clamp_layer=0),
whose output later blocks add to.
Clamps act in the training forward and in the analysis model (a permanent hook on the
bridge), with gradients flowing through the batch statistics.

Calibration: a clamped variant carries `calib_norm` and `calib_std`, measured by
`calibrate(store, spec)` on the probe batch (see `probe_rows`) at the final checkpoint
of its control run: the same params with condition=control (seed `control_seed`, default
this run's seed) and the same recipe overrides. The values are params, so they are in
variant.json and the run's identity; a clamped variant without them is refused.
`python bench/interleaved.py calibrate SPEC [--store DIR]` prints the calibrated spec,
or one line naming the missing control run.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from families._gpt import GPT, GPTShape, init_state, to_bridge
from workbench.core.capabilities import Capabilities
from workbench.core.errors import UserError
from workbench.core.family import IGNORE, ComparePreset, Family, TaskData, register_family
from workbench.core.naming import hooked_name
from workbench.core.recipe import Recipe
from workbench.core.variant import Variant, parse_variant

__all__ = ["InterleavedStreams", "InterleavedParams", "make_sequences", "naive_clamp", "mean_clamp",
           "amplitude", "centered_variance", "probe_rows", "control_variant", "calibration_control",
           "calibrated_spec", "PATTERN_LENGTHS", "HEAD_SLICED"]

PATTERN_LENGTHS = (2, 8)  # a stream's pattern length is uniform over [2, 8]
HEAD_SLICED = ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V")  # per-head weights (head axis first)
PROBE_ROWS = 128  # validation sequences in the probe batch (metrics, analysis, calibration)
_WHEN_SET = {"in_name": "when_set"}
_SEED = {"ge": 0, "lt": 2**63}


class InterleavedParams(BaseModel):
    """Defaults are the CPU demo scale; configs/interleaved_*.yaml hold the study's settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    vocab_size: int = Field(512, ge=8, le=65536, description="tokens (>= 8: a pattern of 8 has distinct tokens)")
    seq_len: int = Field(128, ge=4, le=2048, description="tokens per sequence (the model's n_ctx)")
    n_train_seqs: int = Field(4000, ge=1, le=1_000_000, description="training sequences")
    n_val_seqs: int = Field(500, ge=1, le=1_000_000, description="validation sequences (none in training)")
    d_model: int = Field(80, ge=4, le=1024, description="residual width (study: 40, 80, 128)")
    n_layers: int = Field(1, ge=1, le=12, description="transformer blocks")
    n_heads: int = Field(4, ge=1, le=64, description="attention heads per block")
    condition: Literal["control", "constraint", "naive_clamp", "mean_clamp"] = Field("control")
    n_frozen: int = Field(3, ge=0, le=64, description="constraint: heads frozen at init, from head 0")
    clamp_layer: int | None = Field(None, ge=0, le=11, json_schema_extra=_WHEN_SET,
                                    description="the block whose hook_resid_post clamps act on and the A, sigma^2 metrics read "
                                                "(default: the last)")
    task: Literal["patterned", "random"] = Field("patterned", description="random: no repeats (unlearnable)",
                                                 json_schema_extra=_WHEN_SET)
    control_seed: int | None = Field(None, **_SEED, description="clamps: the control run's seed (default: seed)",
                                     json_schema_extra=_WHEN_SET)
    calib_norm: float | None = Field(None, gt=0, allow_inf_nan=False, json_schema_extra=_WHEN_SET,
                                     description="clamps: the control's mean per-token L2 norm (from calibrate)")
    calib_std: float | None = Field(None, gt=0, allow_inf_nan=False, json_schema_extra=_WHEN_SET,
                                    description="clamps: the control's centered-residual std (from calibrate)")
    seed: int = Field(0, **_SEED, description="model init seed")
    data_seed: int = Field(0, **_SEED, description="seed of the train and validation sequences")

    @model_validator(mode="after")
    def _consistent(self) -> "InterleavedParams":
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not a multiple of n_heads={self.n_heads}")
        if self.condition == "constraint" and not 0 < self.n_frozen < self.n_heads:
            raise ValueError(f"constraint needs 0 < n_frozen < n_heads={self.n_heads}, got n_frozen={self.n_frozen}")
        clamp = self.condition.endswith("_clamp")
        if clamp and (self.calib_norm is None or self.calib_std is None):
            raise ValueError(f"{self.condition} needs calib_norm and calib_std from its control run: "
                             "`python bench/interleaved.py calibrate SPEC` prints the calibrated spec")
        if not clamp and (self.calib_norm, self.calib_std, self.control_seed) != (None, None, None):
            raise ValueError("calib_norm, calib_std and control_seed apply to naive_clamp and mean_clamp only")
        if self.clamp_layer is not None and self.clamp_layer >= self.n_layers:
            raise ValueError(f"clamp_layer={self.clamp_layer} needs clamp_layer < n_layers={self.n_layers}")
        return self


# ----------------------------------------------------------------------------- data
def _distinct_tokens(n: int, k: int, vocab: int, gen: torch.Generator) -> torch.Tensor:
    """[n, k] tokens, distinct within each row, uniform over ordered k-subsets of range(vocab)."""
    out = torch.empty(n, k, dtype=torch.long)
    for j in range(k):  # draw among the vocab - j unused tokens, then skip over the used ones
        r = torch.randint(vocab - j, (n,), generator=gen)
        for used in out[:, :j].sort(dim=1).values.T:
            r += (r >= used).long()
        out[:, j] = r
    return out


def _draw(n: int, params: InterleavedParams, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n sequences of seq_len + 1 tokens [n, seq_len + 1] and their pattern lengths [n, 2] (A, B)."""
    lo, hi = PATTERN_LENGTHS
    lengths = torch.randint(lo, hi + 1, (n, 2), generator=gen)
    patterns = _distinct_tokens(2 * n, hi, params.vocab_size, gen).view(n, 2, hi)
    t = torch.arange((params.seq_len + 2) // 2)  # stream index
    streams = patterns.gather(2, (t % lengths[..., None]))  # [n, 2, T]
    if params.task == "random":
        streams = torch.randint(params.vocab_size, streams.shape, generator=gen)
    return streams.transpose(1, 2).reshape(n, -1)[:, : params.seq_len + 1], lengths


def make_sequences(params: InterleavedParams) -> tuple[torch.Tensor, torch.Tensor]:
    """Train then validation sequences [n_train + n_val, seq_len + 1] and pattern lengths [.., 2].

    Drawn from `data_seed` in rounds; a sequence already drawn is dropped, so no sequence
    is in both sets (nor twice in one).
    """
    want = params.n_train_seqs + params.n_val_seqs
    gen = torch.Generator().manual_seed(params.data_seed)
    seen: set[bytes] = set()
    rows, lens = [], []
    for _ in range(100):
        tokens, lengths = _draw(want - len(rows) + 8, params, gen)
        for row, ln in zip(tokens, lengths):
            key = row.numpy().tobytes()
            if key not in seen and len(rows) < want:
                seen.add(key)
                rows.append(row)
                lens.append(ln)
        if len(rows) == want:
            return torch.stack(rows), torch.stack(lens)
    raise ValueError(f"could not draw {want} distinct sequences from vocab_size={params.vocab_size}")


def scored(lengths: torch.Tensor, seq_len: int) -> torch.Tensor:
    """[n, seq_len] bool: the label of position i (token i+1) is predictable, i.e. token
    i+1's stream has shown its whole pattern once (its stream index >= its pattern length)."""
    nxt = torch.arange(1, seq_len + 1)
    stream, index = nxt % 2, nxt // 2
    return index >= lengths[:, stream]  # [n, seq_len]


def probe_rows(params: InterleavedParams) -> torch.Tensor:
    """Row indices of the probe batch: the first PROBE_ROWS validation sequences (random by data_seed)."""
    return params.n_train_seqs + torch.arange(min(PROBE_ROWS, params.n_val_seqs))


# ----------------------------------------------------------------------------- clamps and statistics
def amplitude(resid: torch.Tensor) -> torch.Tensor:
    """A: mean over tokens of the per-token L2 norm; resid [..., d_model] -> scalar."""
    return resid.norm(dim=-1).mean()


def centered_variance(resid: torch.Tensor) -> torch.Tensor:
    """sigma^2: mean square of the residual minus its per-dimension mean over tokens."""
    flat = resid.reshape(-1, resid.shape[-1])
    return (flat - flat.mean(0)).pow(2).mean()


def naive_clamp(resid: torch.Tensor, target_norm: float) -> torch.Tensor:
    """Rescale resid [..., d] so its mean per-token L2 norm is `target_norm` (differentiable)."""
    return resid * (target_norm / amplitude(resid))


def mean_clamp(resid: torch.Tensor, target_std: float) -> torch.Tensor:
    """Keep the per-dimension token mean; rescale the centered part to std `target_std`."""
    mean = resid.reshape(-1, resid.shape[-1]).mean(0)
    centered = resid - mean
    return mean + centered * (target_std / centered.pow(2).mean().sqrt())


def clamped_layer(params: InterleavedParams) -> int:
    """The block whose hook_resid_post is clamped, calibrated and measured (default: the last)."""
    return params.n_layers - 1 if params.clamp_layer is None else params.clamp_layer


def clamp_fn(params: InterleavedParams):
    """resid -> clamped resid for a clamp condition, else None."""
    if params.condition == "naive_clamp":
        return lambda r: naive_clamp(r, params.calib_norm)
    if params.condition == "mean_clamp":
        return lambda r: mean_clamp(r, params.calib_std)
    return None


# ----------------------------------------------------------------------------- train module
class StreamsGPT(GPT):
    """GPT with the condition's frozen heads or clamp; `captured` holds the clamped layer's
    last hook_resid_post (after any clamp) when `capture` is set."""

    def __init__(self, shape: GPTShape, state: dict[str, torch.Tensor], params: InterleavedParams):
        super().__init__(shape, state)
        self.clamp, self.last = clamp_fn(params), clamped_layer(params)
        self.capture, self.captured = False, None
        self.site_fn = self._site
        self.site = f"blocks.{self.last}.hook_resid_post"  # where the clamp acts and the statistics are read
        self.frozen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # param -> (keep mask, init values)
        if params.condition == "constraint":
            init = init_state(shape, params.seed)  # frozen slices are their init, also after a resume
            for name, p in self.named_parameters():
                if hooked_name(name).rsplit(".", 1)[1] in HEAD_SLICED:
                    keep = torch.ones_like(p)
                    keep[: params.n_frozen] = 0
                    self.frozen[name] = (keep, init[hooked_name(name)].clone())
                    p.register_hook(lambda g, keep=keep: g * keep.to(g.device))

    def _site(self, name: str, resid: torch.Tensor) -> torch.Tensor:
        if name != self.site:
            return resid
        out = self.clamp(resid) if self.clamp is not None else resid
        if self.capture:
            self.captured = out
        return out

    @torch.no_grad()
    def after_step(self) -> None:
        """Write the frozen heads' initial values back (undoes weight decay on them exactly)."""
        params = dict(self.named_parameters())
        for name, (keep, init) in self.frozen.items():
            p = params[name]
            p.copy_(torch.where(keep.to(p.device) > 0, p, init.to(p.device)))


# ----------------------------------------------------------------------------- family
@register_family
class InterleavedStreams(Family):
    name = "interleaved_streams"
    description = "next token on two interleaved periodic streams; frozen heads and amplitude clamps (issue 14)"
    Params = InterleavedParams
    demo = {"params": {}, "epochs": 8, "schedule": "0:9:1", "eval_every": 1}
    tiny = {"params": {"vocab_size": 16, "seq_len": 16, "n_train_seqs": 96, "n_val_seqs": 16, "d_model": 16},
            "epochs": 6, "schedule": "0:6:2", "recipe": {"batch_size": 32}}
    # the study's verification table: the four conditions of one setting, side by side
    compare_presets = {"four conditions": ComparePreset(
        vary=("condition", "n_frozen", "control_seed", "calib_norm", "calib_std"),
        metrics=("test_acc", "last_acc", "amplitude", "sigma2"),
        ratios=(("mean-preserving ÷ constraint accuracy", "test_acc", {"condition": "mean_clamp"},
                 {"condition": "constraint"}),))}

    def shape(self, params: InterleavedParams) -> GPTShape:
        return GPTShape(n_layers=params.n_layers, n_heads=params.n_heads, d_model=params.d_model,
                        d_head=params.d_model // params.n_heads, d_mlp=4 * params.d_model, d_vocab=params.vocab_size,
                        d_vocab_out=params.vocab_size, n_ctx=params.seq_len, normalization="LN", answer_only=False)

    def data(self, params: InterleavedParams) -> TaskData:
        tokens, lengths = make_sequences(params)
        labels = torch.where(scored(lengths, params.seq_len), tokens[:, 1:], IGNORE)
        train_mask = torch.arange(len(tokens)) < params.n_train_seqs
        return TaskData(tokens[:, :-1].contiguous(), labels, train_mask)

    def probe(self, params: InterleavedParams) -> TaskData:
        """Analysis runs on the probe batch (`probe_rows`: validation sequences only), not on
        every sequence: vocab x seq_len logits over thousands of sequences would take GBs."""
        data, rows = self.data(params), probe_rows(params)
        return TaskData(data.inputs[rows], data.labels[rows], data.train_mask[rows])

    def init_state(self, params: InterleavedParams) -> dict[str, torch.Tensor]:
        return init_state(self.shape(params), params.seed)

    def train_module(self, params: InterleavedParams, state: dict[str, torch.Tensor]) -> StreamsGPT:
        if isinstance(state, list):
            raise ValueError("interleaved_streams trains one model at a time (stackable = False)")
        return StreamsGPT(self.shape(params), state, params)

    def tl_model(self, params: InterleavedParams, state: dict[str, torch.Tensor], device: str = "cpu"):
        bridge = to_bridge(self.shape(params), state, device)
        clamp = clamp_fn(params)
        if clamp is not None:  # the analysis model clamps as training did (over the probe batch)
            bridge.add_hook(f"blocks.{clamped_layer(params)}.hook_resid_post", lambda r, hook: clamp(r),
                            is_permanent=True)
        return bridge

    def recipe(self, params: InterleavedParams) -> Recipe:
        return Recipe(epochs=8, optimizer="adamw", lr=1e-3, weight_decay=0.1, betas=(0.9, 0.98), batch_size=64,
                      eval_every=1)

    def schedule(self, params: InterleavedParams) -> str:
        return "0:51:1"

    def capabilities(self, params: InterleavedParams) -> Capabilities:
        layers = range(params.n_layers)
        resid = ["blocks.0.hook_resid_pre"] + [f"blocks.{i}.hook_resid_{s}" for i in layers for s in ("mid", "post")]
        return Capabilities(transformer=True, sequence=True, n_layers=params.n_layers, n_heads=params.n_heads,
                            final_ln=True, attention_hooks=[f"blocks.{i}.attn.hook_pattern" for i in layers],
                            resid_hooks=resid)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the scored positions: logits [..., rows, pos, vocab] -> [...]."""
        per_token = torch.nn.functional.cross_entropy(logits.flatten(0, -2), labels.flatten(), reduction="none",
                                                      ignore_index=IGNORE).view(labels.shape)
        n = (labels != IGNORE).flatten(-2).sum(-1).clamp(min=1)
        return per_token.flatten(-2).sum(-1) / n

    def extra_metrics(self, module: StreamsGPT, logits, data: TaskData) -> list[dict[str, float]]:
        """Over the probe batch: last-position and per-stream accuracy, A and sigma^2 of the
        clamped layer's hook_resid_post (after the clamp: what the next layer reads)."""
        rows = torch.nonzero(~data.train_mask).flatten()[:PROBE_ROWS]
        if len(rows) == 0:
            return []
        device = module.causal_mask.device
        return [probe_metrics(module, data.inputs[rows].to(device), data.labels[rows].to(device))]


@torch.no_grad()
def probe_metrics(module: StreamsGPT, tokens: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Accuracies, A and sigma^2 of `module` over one batch."""
    module.capture = True
    try:
        pred = module(tokens).argmax(-1)
        resid = module.captured
    finally:
        module.capture, module.captured = False, None
    ok, valid = pred == labels, labels != IGNORE
    stream = torch.arange(1, labels.shape[1] + 1, device=labels.device) % 2  # stream of the predicted token
    acc = lambda sel: float(ok[sel].float().mean()) if bool(sel.any()) else float("nan")  # noqa: E731
    last = torch.zeros_like(valid)
    last[:, -1] = True
    return {"last_acc": acc(valid & last),
            "acc_a": acc(valid & (stream == 0)), "acc_b": acc(valid & (stream == 1)),
            "amplitude": float(amplitude(resid)), "sigma2": float(centered_variance(resid))}


# ----------------------------------------------------------------------------- calibration
def control_variant(variant: Variant) -> Variant:
    """The control run a clamped `variant` calibrates from: same params, condition=control."""
    p = variant.params
    params = p.model_copy(update={"condition": "control", "n_frozen": InterleavedParams.model_fields["n_frozen"].default,
                                  "control_seed": None, "calib_norm": None, "calib_std": None,
                                  "seed": p.seed if p.control_seed is None else p.control_seed})
    return Variant(variant.family, InterleavedParams.model_validate(params.model_dump()), variant.recipe_overrides)


def calibration_control(spec: str) -> Variant:
    """The control variant that clamped variant `spec` calibrates from (UserError unless it is a clamp).

    The caller reads that run's final checkpoint (bench/interleaved.py `calibrate` does, from
    a store) and passes its weights to `calibrated_spec`."""
    variant = parse_variant(spec, overrides={"calib_norm": 1.0, "calib_std": 1.0})
    if not variant.params.condition.endswith("_clamp"):
        raise UserError(f"calibrate takes a naive_clamp or mean_clamp variant, got condition={variant.params.condition}")
    return control_variant(variant)


def calibrated_spec(spec: str, control_state: dict[str, torch.Tensor]) -> str:
    """The spec of clamped variant `spec` with calib_norm and calib_std measured on its control
    run's final weights `control_state` (HookedTransformer-named, as a checkpoint holds them)."""
    control = calibration_control(spec)
    params, family = control.params, control.family
    module = family.train_module(params, control_state)
    data = family.data(params)
    rows = probe_rows(params)
    module.capture = True
    with torch.no_grad():
        module(data.inputs[rows])
    resid = module.captured
    norm, std = float(amplitude(resid)), float(centered_variance(resid).sqrt())
    return parse_variant(spec, overrides={"calib_norm": norm, "calib_std": std}).spec

