"""The Least-Action Learning study: does a network that learns efficient computation
paths (routing) grok differently? A plain MLP, a routed MLP and a 2-layer transformer on
(a op b) mod p, op in {add, multiply} (issue 12).

Models (param `model`):

- ``mlp``: one-hot a ++ one-hot b (2p inputs) -> `n_layers` hidden layers of
  `hidden_dim` with GELU -> p logits. Parameters ``blocks.{i}.mlp.W_in/b_in``,
  ``unembed.W_U/b_U``; hooks ``blocks.{i}.mlp.hook_pre/hook_post`` [batch, 1, hidden_dim].
- ``routed``: each hidden block holds `n_heads` parallel GELU heads
  (``blocks.{i}.heads.W_in`` [head, d_in, hidden_dim]) mixed by an input-dependent softmax
  gate (``blocks.{i}.gate.W_gate`` [d_in, head], ``b_gate``): out = sum_h g_h(x) head_h(x).
  Hooks: ``blocks.{i}.hook_gate`` [batch, 1, head] (gate probabilities),
  ``blocks.{i}.heads.hook_post`` [batch, 1, head, hidden_dim], and the mixed output as
  ``blocks.{i}.mlp.hook_post`` [batch, 1, hidden_dim], so neuron analyzers apply. The
  training objective adds `lambda_routing` x `routing_penalty` (none, entropy, sparsity or
  gini; each 1 for a uniform gate and 0 for a one-hot gate); evaluation loss stays plain
  cross-entropy.
- ``routed_study``: the study's own routed network (families/_lal_routed.py, issue 27): a
  linear embedding, a routing state carried from block to block, residual + post-LayerNorm
  blocks of `n_heads` FFN heads (d -> 4d -> d) mixed by a gate that reads the state and the
  residual; `hidden_dim` is the residual width d. Its routing penalties are the study's
  forms (entropy in nats, sparsity 1 - max, gini, consistency), so `lambda_routing` means what
  it meant there; its weight decay follows the study's last trainer (gate and biases exempt).
- ``transformer``: decoder-only, `n_layers` pre-LayerNorm blocks with causal attention
  (families/_gpt.py), input [a, op, b, =] (vocabulary p+2: residues, op = p, '=' = p+1),
  d_model 128, 4 heads, FFN 4 x d_model, GELU, logits at the last position.

The MLP and routed nets are TransformerLens `HookedRootModule`s: the same module trains
and is analyzed (`run_with_cache` works on it), the analysis copy returning logits
[batch, 1, p]. Weights init as N(0, 1/d_in) per matrix (LeCun normal), biases zero.
The study's own code differs in details we did not copy: PyTorch's nn.Linear
default init for the MLP (uniform +-1/sqrt(d_in), biases too), N(0, 0.02) for every
transformer matrix (ours: families/_gpt's N(0, 0.8/sqrt(d_model))), a float32 loss (ours:
float64) and, for `routed`, a routing state carried between blocks (`routed_study` has it). For the p=17 MLP
the init and the loss were measured not to change the outcome (bench/RESULTS.md).

Metrics: `wnorm` and `smooth` at every evaluation (capability ``extra_metrics`` says so, for
the training_curves view); `format_log_line` is the study's `--log-format plain` line. The
routed net declares ``routing`` (heads, gate hooks) for the routing analyzers and views.

Spectral regularizer (any model): with `lambda_spectral` > 0 the training objective adds
lambda_spectral x (1 - S), S the spectral smoothness of the model's output function over
the WHOLE (a, b) grid (workbench.core.modular.differentiable_smoothness: the `smooth` metric's
number, computed in float64 torch so gradients flow), from one extra forward over all p^2
inputs per step (the study's spectral_smoothness_loss, whose soft output is the expected
class index instead of our phasor). Evaluation loss stays plain cross-entropy.

Multiplication: a = 0 or b = 0 stay in the grid, answer 0. They carry no group structure,
so the Fourier basis for multiply (workbench.core.modular.multiplicative_basis) and the
smoothness metric index the nonzero residues by discrete log and set 0 apart.
"""

from __future__ import annotations

import math
import weakref
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn
from transformer_lens import HookedRootModule
from transformer_lens.hook_points import HookPoint

from families._gpt import GPT, GPTShape, to_bridge
from families._gpt import init_state as gpt_init_state
from families._lal_routed import StudyRoutedNet, StudyShape, study_init_state
from families._leaf import Leaf
from families.modular_addition import MAX_P, MAX_SEED, is_prime
from workbench.core.capabilities import Capabilities, Modular, Routing
from workbench.core.family import Family, TaskData, register_family
from workbench.core.modular import differentiable_smoothness, grid_layout, operation_basis, phasor_grid, smoothness
from workbench.core.recipe import Recipe
from workbench.core.train_module import TrainModuleBase

__all__ = ["LeastAction", "LeastActionParams", "LeastActionNet", "routing_penalty", "format_log_line",
           "output_smoothness", "ROUTINGS"]

ROUTINGS = ("none", "entropy", "sparsity", "gini", "consistency")  # consistency: routed_study only
ROUTED = ("routed", "routed_study")
_WHEN_SET = {"in_name": "when_set"}  # listed in the run's directory name only when not the default


class LeastActionParams(BaseModel):
    """Defaults: the study's baseline (MLP, p=113, add). Bounds as ModularAdditionParams."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    p: int = Field(113, ge=5, le=MAX_P, description=f"prime modulus in [5, {MAX_P}]")
    operation: Literal["add", "multiply"] = Field("add", description="a op b mod p (multiply: 0 answers 0)")
    model: Literal["mlp", "routed", "routed_study", "transformer"] = Field("mlp", description="network")
    frac_train: float = Field(0.3, gt=0, lt=1, allow_inf_nan=False, description="fraction of the p^2 pairs that train")
    data_seed: int = Field(0, ge=0, lt=MAX_SEED, description="train/test split seed")
    seed: int = Field(0, ge=0, lt=MAX_SEED, description="model init seed")
    n_layers: int = Field(2, ge=1, le=8, description="hidden layers (mlp, routed) or transformer blocks")
    hidden_dim: int = Field(256, ge=1, le=8192, description="hidden width (mlp; per routed head; routed_study: residual width d)",
                            json_schema_extra=_WHEN_SET)
    n_heads: int = Field(4, ge=1, le=64, description="routed heads per block, or attention heads", json_schema_extra=_WHEN_SET)
    d_model: int = Field(128, ge=1, le=1024, description="transformer residual width", json_schema_extra=_WHEN_SET)
    routing: Literal["none", "entropy", "sparsity", "gini", "consistency"] = Field(
        "none", description="routed, routed_study: gate regularizer (consistency: routed_study only)",
        json_schema_extra=_WHEN_SET)
    lambda_routing: float = Field(0.0, ge=0, le=100, allow_inf_nan=False, description="routed: regularizer weight",
                                  json_schema_extra=_WHEN_SET)
    lambda_spectral: float = Field(0.0, ge=0, le=100, allow_inf_nan=False, json_schema_extra=_WHEN_SET,
                                   description="weight of the spectral penalty 1 - smoothness over the whole grid")

    @model_validator(mode="after")
    def _consistent(self) -> "LeastActionParams":
        if not is_prime(self.p):
            raise ValueError(f"p must be prime, got {self.p}")
        n_train = int(self.frac_train * self.p * self.p)  # as LeastAction.data splits
        if not 1 <= n_train < self.p * self.p:
            raise ValueError(f"frac_train={self.frac_train} gives {n_train} of the {self.p ** 2} pairs to training")
        if self.model == "transformer" and self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not a multiple of n_heads={self.n_heads}")
        if self.model not in ROUTED and (self.routing != "none" or self.lambda_routing):
            raise ValueError(f"routing and lambda_routing apply to model=routed or routed_study, not model={self.model}")
        if self.routing == "consistency" and self.model != "routed_study":
            raise ValueError("routing=consistency is the study's penalty: it applies to model=routed_study only")
        return self


# ----------------------------------------------------------------------------- routing regularizers
def routing_penalty(gates: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean penalty of gate distributions gates [..., head] (rows sum to 1), in [0, 1].

    Each is 1 for the uniform gate and 0 for a one-hot gate (H = heads > 1):
    - entropy: -sum g log g / log H (normalized Shannon entropy);
    - sparsity: (sum sqrt g - 1) / (sqrt H - 1), the L1/2 quasi-norm (the L1 norm is 1 on
      the simplex, so it cannot promote sparsity there);
    - gini: 1 - G H / (H - 1), G = sum_ij |g_i - g_j| / (2 H) the Gini coefficient.
    """
    h = gates.shape[-1]
    if kind == "none" or h == 1:
        return gates.new_zeros(())
    if kind == "entropy":
        per = -(gates * gates.clamp_min(1e-12).log()).sum(-1) / math.log(h)
    elif kind == "sparsity":
        per = (gates.clamp_min(1e-12).sqrt().sum(-1) - 1) / (math.sqrt(h) - 1)
    elif kind == "gini":
        gini = (gates[..., :, None] - gates[..., None, :]).abs().sum((-1, -2)) / (2 * h)
        per = 1 - gini * h / (h - 1)
    else:
        raise ValueError(f"routing must be one of {ROUTINGS}, got {kind!r}")
    return per.mean()


# ----------------------------------------------------------------------------- MLP and routed nets
class NetShape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    p: int
    n_layers: int
    hidden_dim: int
    n_heads: int = 1
    routed: bool = False
    routing: str = "none"
    lambda_routing: float = 0.0


def net_param_shapes(s: NetShape) -> dict[str, tuple[int, ...]]:
    """Every parameter by name, in init order."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i in range(s.n_layers):
        d_in, b = 2 * s.p if i == 0 else s.hidden_dim, f"blocks.{i}"
        if s.routed:
            shapes |= {f"{b}.gate.W_gate": (d_in, s.n_heads), f"{b}.gate.b_gate": (s.n_heads,),
                       f"{b}.heads.W_in": (s.n_heads, d_in, s.hidden_dim), f"{b}.heads.b_in": (s.n_heads, s.hidden_dim)}
        else:
            shapes |= {f"{b}.mlp.W_in": (d_in, s.hidden_dim), f"{b}.mlp.b_in": (s.hidden_dim,)}
    return shapes | {"unembed.W_U": (s.hidden_dim, s.p), "unembed.b_U": (s.p,)}


def net_init_state(s: NetShape, seed: int) -> dict[str, torch.Tensor]:
    """LeCun-normal matrices N(0, 1/d_in) and zero biases, from one scoped generator."""
    gen, state = torch.Generator().manual_seed(seed), {}
    for name, dims in net_param_shapes(s).items():
        if name.rsplit(".", 1)[1].startswith("W_"):
            state[name] = torch.randn(dims, generator=gen) / math.sqrt(dims[-2])
        else:
            state[name] = torch.zeros(dims)
    return state


class LeastActionNet(HookedRootModule, TrainModuleBase):
    """The MLP or routed net; forward: tokens [batch, 2] (a, b) -> logits [batch, p]
    (`answer_only`) or [batch, 1, p] (the analysis copy, TransformerLens's [batch, pos, vocab])."""

    def __init__(self, shape: NetShape, state: dict[str, torch.Tensor], answer_only: bool = True):
        super().__init__()
        self.cfg, self.answer_only = shape, answer_only
        self.aux_loss: torch.Tensor | None = None  # lambda x routing penalty of the last forward
        blocks = []
        for i in range(shape.n_layers):
            d_in, block = 2 * shape.p if i == 0 else shape.hidden_dim, nn.Module()
            if shape.routed:
                h, d = shape.n_heads, shape.hidden_dim
                block.gate = Leaf({"W_gate": (d_in, h), "b_gate": (h,)})
                block.heads = Leaf({"W_in": (h, d_in, d), "b_in": (h, d)}, ("hook_post",))
                block.mlp = Leaf({}, ("hook_post",))
                block.hook_gate = HookPoint()
            else:
                block.mlp = Leaf({"W_in": (d_in, shape.hidden_dim), "b_in": (shape.hidden_dim,)},
                                    ("hook_pre", "hook_post"))
            blocks.append(block)
        self.blocks = nn.ModuleList(blocks)
        self.unembed = Leaf({"W_U": (shape.hidden_dim, shape.p), "b_U": (shape.p,)})
        self.load_state_dict(state, strict=True)
        self.setup()

    def hooked_state(self, member: int | None = None) -> dict[str, torch.Tensor]:
        return {n: q.detach().contiguous() for n, q in self.named_parameters()}

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        p = self.cfg.p
        x = torch.cat([F.one_hot(tokens[:, 0], p), F.one_hot(tokens[:, 1], p)], -1)[:, None].to(self.unembed.W_U.dtype)
        penalties = []
        for block in self.blocks:  # x [batch, 1, d_in]
            if self.cfg.routed:
                gate = block.hook_gate((x @ block.gate.W_gate + block.gate.b_gate).softmax(-1))  # [batch, 1, head]
                heads = F.gelu(torch.einsum("bpd,hde->bphe", x, block.heads.W_in) + block.heads.b_in)
                x = block.mlp.hook_post(torch.einsum("bph,bphe->bpe", gate, block.heads.hook_post(heads)))
                penalties.append(routing_penalty(gate, self.cfg.routing))
            else:
                x = block.mlp.hook_post(F.gelu(block.mlp.hook_pre(x @ block.mlp.W_in + block.mlp.b_in)))
        if penalties and self.cfg.lambda_routing:
            self.aux_loss = self.cfg.lambda_routing * torch.stack(penalties).mean()
        logits = x @ self.unembed.W_U + self.unembed.b_U  # [batch, 1, p]
        return logits[:, 0] if self.answer_only else logits


# ----------------------------------------------------------------------------- metrics
def output_smoothness(logits: torch.Tensor, inputs: torch.Tensor, operands: tuple[int, int], p: int,
                      operation: str) -> tuple[float, np.ndarray]:
    """workbench.core.modular.smoothness of the model's output function: each row's predicted
    answer distribution (softmax of logits [rows, p], float64) as a phasor on the grid."""
    probs = torch.softmax(logits.detach().double(), -1).cpu().numpy()
    a, b = (inputs[:, k].cpu().numpy() for k in operands)
    return smoothness(phasor_grid(probs, a, b, p, operation))


def weight_norm(module: nn.Module) -> float:
    """L2 norm of all parameters together (what weight decay shrinks)."""
    with torch.no_grad():
        return float(torch.stack([q.double().pow(2).sum() for q in module.parameters()]).sum().sqrt())


def format_log_line(epoch: int, metrics: dict[str, float]) -> str:
    """The study's log line, e.g.
    `Epoch  12300 | Train: 100.0% | Test:  47.1% | Loss: 1.23e-04, wnorm=45.2, smooth=0.234`
    (Loss is the training loss; wnorm and smooth appear when the metrics hold them)."""
    line = (f"Epoch {epoch:6d} | Train: {100 * metrics['train_acc']:5.1f}% | Test: {100 * metrics['test_acc']:5.1f}% "
            f"| Loss: {metrics['train_loss']:.2e}")
    extras = [f"{k}={metrics[k]:{fmt}}" for k, fmt in (("wnorm", ".1f"), ("smooth", ".3f")) if k in metrics]
    return ", ".join([line, *extras])


# ----------------------------------------------------------------------------- the family
@register_family
class LeastAction(Family):
    name = "least_action"
    description = "(a op b) mod p, op add|multiply: MLP, routed MLP or 2-layer transformer (least-action study)"
    Params = LeastActionParams
    demo = {"params": {"p": 17, "frac_train": 0.5}, "epochs": 3000, "schedule": "0:3000:100", "eval_every": 50}
    # the conformance suite's variant: the routed net with its regularizer (the most moving parts)
    tiny = {"params": {"p": 7, "model": "routed", "routing": "entropy", "lambda_routing": 0.1, "hidden_dim": 16},
            "epochs": 60, "schedule": "0:60:20"}
    stackable = False

    def __init__(self):
        self._live: weakref.ref | None = None  # the training module the objective reads aux_loss from

    def net_shape(self, params: LeastActionParams) -> NetShape:
        routed = params.model == "routed"
        return NetShape(p=params.p, n_layers=params.n_layers, hidden_dim=params.hidden_dim,
                        n_heads=params.n_heads if routed else 1, routed=routed, routing=params.routing,
                        lambda_routing=params.lambda_routing)

    def study_shape(self, params: LeastActionParams) -> StudyShape:
        return StudyShape(p=params.p, n_layers=params.n_layers, d=params.hidden_dim, n_heads=params.n_heads,
                          routing=params.routing, lambda_routing=params.lambda_routing)

    def gpt_shape(self, params: LeastActionParams) -> GPTShape:
        d = params.d_model
        return GPTShape(n_layers=params.n_layers, n_heads=params.n_heads, d_model=d, d_head=d // params.n_heads,
                        d_mlp=4 * d, d_vocab=params.p + 2, d_vocab_out=params.p, n_ctx=4, act_fn="gelu",
                        normalization="LN", answer_only=True)

    def operands(self, params: LeastActionParams) -> tuple[int, int]:
        return (0, 2) if params.model == "transformer" else (0, 1)

    def data(self, params: LeastActionParams) -> TaskData:
        p = params.p
        a, b = torch.arange(p).repeat_interleave(p), torch.arange(p).repeat(p)
        labels = (a + b) % p if params.operation == "add" else (a * b) % p
        if params.model == "transformer":
            inputs = torch.stack([a, torch.full_like(a, p), b, torch.full_like(a, p + 1)], dim=1)
        else:
            inputs = torch.stack([a, b], dim=1)
        perm = torch.randperm(p * p, generator=torch.Generator().manual_seed(params.data_seed))
        train_mask = torch.zeros(p * p, dtype=torch.bool)
        train_mask[perm[: int(params.frac_train * p * p)]] = True
        return TaskData(inputs, labels, train_mask)

    def init_state(self, params: LeastActionParams) -> dict[str, torch.Tensor]:
        if params.model == "transformer":
            return gpt_init_state(self.gpt_shape(params), params.seed)
        if params.model == "routed_study":
            return study_init_state(self.study_shape(params), params.seed)
        return net_init_state(self.net_shape(params), params.seed)

    def train_module(self, params: LeastActionParams, state) -> nn.Module:
        if isinstance(state, list):
            raise ValueError("least_action trains one model at a time (stackable = False)")
        if params.model == "transformer":
            module = GPT(self.gpt_shape(params), state)
        elif params.model == "routed_study":
            module = StudyRoutedNet(self.study_shape(params), state)
        else:
            module = LeastActionNet(self.net_shape(params), state)
        module.task_facts = (params.p, params.operation, self.operands(params))  # read by extra_metrics
        module.spectral = self._spectral(params) if params.lambda_spectral else None  # read by objective
        self._live = weakref.ref(module)
        return module

    def tl_model(self, params: LeastActionParams, state: dict[str, torch.Tensor], device: str = "cpu"):
        if params.model == "transformer":
            return to_bridge(self.gpt_shape(params), state, device)
        if params.model == "routed_study":
            return StudyRoutedNet(self.study_shape(params), state, answer_only=False).to(device).eval()
        return LeastActionNet(self.net_shape(params), state, answer_only=False).to(device).eval()

    def recipe(self, params: LeastActionParams) -> Recipe:
        """AdamW lr 1e-3, weight decay 1.0, clip 1.0, full batch; no decay on embeddings,
        biases, LayerNorm and gates; the transformer warms up linearly over 100 steps."""
        warm = {"lr_schedule": "warmup", "warmup_steps": 100} if params.model == "transformer" else {}
        return Recipe(epochs=20_000, optimizer="adamw", lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98),
                      no_decay=("embed", "bias", "norm", "gate"), grad_clip=1.0, eval_every=100, **warm)

    def schedule(self, params: LeastActionParams) -> str:
        return "0:2000:100,2000:100001:500"

    def _spectral(self, params: LeastActionParams) -> tuple:
        """(lambda_spectral, the whole grid's inputs, their GridLayout) for the spectral penalty."""
        inputs = self.data(params).inputs
        i, j = self.operands(params)
        return params.lambda_spectral, inputs, grid_layout(inputs[:, i].numpy(), inputs[:, j].numpy(), params.p,
                                                           params.operation)

    def objective(self, logits: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Cross-entropy, plus the routed net's lambda_routing x routing penalty of the same
        forward, plus lambda_spectral x (1 - smoothness of the output over the whole grid)
        (the trainer calls this right after forwarding the module train_module built)."""
        module = self._live() if self._live is not None else None
        aux = getattr(module, "aux_loss", None)  # read before the grid forward below replaces it
        loss = self.loss(logits, labels)
        loss = loss if aux is None else loss + aux
        spectral = getattr(module, "spectral", None)
        if spectral is not None:
            lam, inputs, layout = spectral
            grid_logits = module(inputs.to(logits.device))  # [p*p, p]
            loss = loss + lam * (1 - differentiable_smoothness(grid_logits.softmax(-1), layout))
        return loss

    def extra_metrics(self, module: nn.Module, logits, data: TaskData) -> list[dict[str, float]]:
        """`wnorm` (all parameters' L2 norm) and `smooth` (output_smoothness) at every eval."""
        p, operation, operands = module.task_facts
        if logits is None:  # evaluated in chunks: one more pass for the grid's logits
            with torch.no_grad():
                device = next(module.parameters()).device
                logits = torch.cat([module(x.to(device)) for x in data.inputs.split(4096)])[None]
        score, _ = output_smoothness(logits[0], data.inputs, operands, p, operation)
        return [{"wnorm": weight_norm(module), "smooth": score}]

    def format_log_line(self, epoch: int, metrics: dict[str, float]) -> str:
        """`workbench train --log-format plain`: the study's line (module-level format_log_line)."""
        return format_log_line(epoch, metrics)

    def capabilities(self, params: LeastActionParams) -> Capabilities:
        layers = range(params.n_layers)
        modular = Modular(p=params.p, operation=params.operation, operands=self.operands(params),
                          answer=3 if params.model == "transformer" else 0)
        caps = {"modular": modular, "n_layers": params.n_layers, "final_ln": params.model == "transformer",
                "neuron_hooks": [f"blocks.{i}.mlp.hook_post" for i in layers],
                "extra_metrics": ["wnorm", "smooth"]}  # what extra_metrics adds to the metrics table
        if params.model == "transformer":
            resid = ["blocks.0.hook_resid_pre"] + [f"blocks.{i}.hook_resid_{s}" for i in layers for s in ("mid", "post")]
            return Capabilities(**caps, transformer=True, n_heads=params.n_heads, resid_hooks=resid,
                                attention_hooks=[f"blocks.{i}.attn.hook_pattern" for i in layers])
        routing = Routing(n_heads=params.n_heads, gate_hooks=[f"blocks.{i}.hook_gate" for i in layers])
        joint = params.model == "routed_study" or None  # it embeds the one-hot pair at once (_lal_routed)
        return Capabilities(**caps, mlp=True, routing=routing if params.model in ROUTED else None, joint_embed=joint)

    def analysis_context(self, params: LeastActionParams) -> dict:
        """Capabilities, p, and the Fourier basis of the operation (multiplicative
        characters via discrete log for multiply, see workbench.core.modular.multiplicative_basis)."""
        return {**self.capabilities(params).as_dict(), "p": params.p, "fourier_basis": operation_basis(params.p, params.operation)}
