"""Universal modular addition (issue 13): one transformer computes (a + b) mod p for every
prime p <= max_p, the modulus given as input through a sinusoidal modulus encoding
(SinPE, families/_universal.py), trained by cross-entropy or by REINFORCE.

Primes. The primes in [train_min, train_max] are the training range; `n_unseen` of its
interior primes (never its two ends), drawn from `prime_seed`, are held out ("unseen").
The rest are "seen" (training) primes. Primes above train_max up to max_p are
"extrapolation"; primes below train_min are "below" the range. Or by name (issue 28):
`train_primes`, `unseen_primes` and `extrapolation_primes` list the groups exactly (the
range and prime_seed are then left at their defaults and unused); without
`extrapolation_primes`, every prime above the largest named seen or unseen prime up to
max_p extrapolates; a prime <= max_p in no list is group "below" (outside the named split). For every seen prime all
p^2 pairs (a, b) are split train/test once, from `data_seed` (fraction `frac_train`);
the split is fixed for the whole run, so the test pairs are never trained on. `data()`
is the seen primes' pairs; the analysis probe is every prime 2..max_p, all pairs.

Objectives (`objective`):
- ``ce``: mean cross-entropy over the valid classes (logits of c >= p are masked).
- ``reinforce``: REINFORCE (Williams 1992). Per row, one answer is sampled from the
  policy softmax(masked logits) with the step's seeded generator; reward 1 if correct,
  else 0. Loss = -mean((r - b) log pi(answer)) - entropy_coef * mean(H(pi)), where b is
  the moving-average reward: EMA with momentum `baseline_momentum` over the batch mean
  rewards, bias-corrected as Adam's moments are (so its first value is the first batch's
  mean, not 0). The raw EMA and the step count are module buffers in every checkpoint and
  resume file, so resume is exact. `ce_steps` > 0 trains by cross-entropy for that many
  optimizer steps first: the run is then the cross-entropy run (same params, recipe and
  seeds) up to that step, continued by REINFORCE from its weights and optimizer state, i.e.
  a warm start from the CE checkpoint at that step.

Metrics at each evaluation, besides the trainer's (train/test = the seen primes' pairs):
``reward`` (expected reward of the policy on the training pairs, mean pi(correct)),
``baseline`` (the bias-corrected moving-average reward, 0 before REINFORCE starts),
``unseen_acc`` and ``extrap_acc`` (accuracy over all pairs of the unseen and of the
extrapolation primes; NaN when there are none). The trainer's losses stay cross-entropy
for both objectives.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator

from families._universal import N_CTX, UniversalNet, UniversalShape, init_state
from families.modular_addition import MAX_SEED, is_prime
from workbench.core.capabilities import Capabilities, MultiPrime
from workbench.core.family import Family, TaskData, register_family
from workbench.core.recipe import Recipe

__all__ = ["UniversalModular", "UniversalParams", "reinforce_loss", "prime_groups", "GROUPS", "prime_rows"]

GROUPS = ("seen", "unseen", "extrapolation", "below")  # group codes 0..3 of a prime
_WHEN_SET = {"in_name": "when_set"}


class UniversalParams(BaseModel):
    """Defaults: the full study's setup (training range 3..79, extrapolation 83..113)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    max_p: int = Field(113, ge=5, le=256, description="largest modulus: residues 0..max_p-1 are the classes; "
                       "analysis sweeps every prime 2..max_p")
    train_min: int = Field(3, ge=2, description="training range: smallest prime")
    train_max: int = Field(79, ge=2, description="training range: largest prime (extrapolation above)")
    n_unseen: int = Field(4, ge=0, le=64, description="interior primes of the range held out, from prime_seed")
    prime_seed: int = Field(0, ge=0, lt=MAX_SEED, description="which primes are held out")
    data_seed: int = Field(0, ge=0, lt=MAX_SEED, description="train/test split of each seen prime's pairs")
    frac_train: float = Field(0.5, gt=0, lt=1, allow_inf_nan=False, description="fraction of a seen prime's pairs that train")
    seed: int = Field(0, ge=0, lt=MAX_SEED, description="model init seed")
    objective: Literal["ce", "reinforce"] = Field("ce", description="cross-entropy or REINFORCE")
    d_model: int = Field(128, ge=4, le=2048, description="residual width", json_schema_extra=_WHEN_SET)
    n_heads: int = Field(4, ge=1, le=64, description="attention heads", json_schema_extra=_WHEN_SET)
    d_mlp: int = Field(512, ge=1, le=8192, description="MLP neurons per block", json_schema_extra=_WHEN_SET)
    n_layers: int = Field(1, ge=1, le=8, description="blocks", json_schema_extra=_WHEN_SET)
    d_sin: int = Field(32, ge=2, le=512, description="SinPE width (even)", json_schema_extra=_WHEN_SET)
    sin_base: float = Field(10_000.0, gt=1, le=1e9, allow_inf_nan=False, description="SinPE wavelength base",
                            json_schema_extra=_WHEN_SET)
    baseline_momentum: float = Field(0.9, ge=0, lt=1, allow_inf_nan=False, description="reinforce: EMA momentum "
                                     "of the reward baseline", json_schema_extra=_WHEN_SET)
    entropy_coef: float = Field(0.01, ge=0, le=10, allow_inf_nan=False, description="reinforce: entropy bonus",
                                json_schema_extra=_WHEN_SET)
    ce_steps: int = Field(0, ge=0, le=10**9, description="reinforce: cross-entropy steps first (warm start)",
                          json_schema_extra=_WHEN_SET)
    train_primes: tuple[int, ...] | None = Field(None, description="seen (training) primes by name, e.g. 2+3+5; "
                                                 "replaces train_min, train_max, n_unseen and prime_seed",
                                                 json_schema_extra=_WHEN_SET)
    unseen_primes: tuple[int, ...] | None = Field(None, description="with train_primes: primes held out by name",
                                                  json_schema_extra=_WHEN_SET)
    extrapolation_primes: tuple[int, ...] | None = Field(None, description="with train_primes: extrapolation primes by "
                                                         "name (default: every prime above the named ones)",
                                                         json_schema_extra=_WHEN_SET)

    @model_validator(mode="after")
    def _consistent(self) -> "UniversalParams":
        if self.train_primes is not None or self.unseen_primes is not None or self.extrapolation_primes is not None:
            return self._named()
        if not self.train_min <= self.train_max <= self.max_p:
            raise ValueError(f"need train_min <= train_max <= max_p, got {self.train_min}, {self.train_max}, {self.max_p}")
        interior = len(_primes(self.train_min, self.train_max)[1:-1])
        if self.n_unseen > interior:
            raise ValueError(f"n_unseen={self.n_unseen} but the range {self.train_min}..{self.train_max} "
                             f"has only {interior} interior primes")
        return self._objective_ok()

    def _objective_ok(self) -> "UniversalParams":
        if self.d_model % self.n_heads or self.d_sin % 2:
            raise ValueError(f"d_model={self.d_model} must be a multiple of n_heads={self.n_heads} and d_sin={self.d_sin} even")
        if self.objective == "ce" and self.ce_steps:
            raise ValueError("ce_steps (a cross-entropy warm start) applies to objective=reinforce")
        return self

    def _named(self) -> "UniversalParams":
        """Named primes: primes <= max_p, in one list each, at least one seen; the range fields unused."""
        if not self.train_primes:
            raise ValueError("unseen_primes and extrapolation_primes need a non-empty train_primes")
        fields = type(self).model_fields
        moved = [k for k in ("train_min", "train_max", "n_unseen", "prime_seed") if getattr(self, k) != fields[k].default]
        if moved:
            raise ValueError(f"train_primes names the primes: leave {', '.join(moved)} at the default")
        named = [p for k in ("train_primes", "unseen_primes", "extrapolation_primes") for p in getattr(self, k) or ()]
        bad = [p for p in named if not is_prime(p) or p > self.max_p]
        if bad:
            raise ValueError(f"named primes must be primes <= max_p={self.max_p}, got {bad[0]}")
        if len(set(named)) != len(named):
            raise ValueError("a prime is named twice (train_primes, unseen_primes and extrapolation_primes are disjoint)")
        return self._objective_ok()


def _primes(lo: int, hi: int) -> list[int]:
    return [n for n in range(max(lo, 2), hi + 1) if is_prime(n)]


def prime_groups(params: UniversalParams) -> tuple[np.ndarray, np.ndarray]:
    """(every prime 2..max_p [n] int64, its group code [n] int64, GROUPS[code])."""
    if params.train_primes is not None:
        return _named_groups(params)
    in_range = _primes(params.train_min, params.train_max)
    order = torch.randperm(len(in_range) - 2, generator=torch.Generator().manual_seed(params.prime_seed)) \
        if len(in_range) > 2 else torch.zeros(0, dtype=torch.long)
    unseen = {in_range[1 + int(i)] for i in order[: params.n_unseen]}
    primes = np.array(_primes(2, params.max_p), dtype=np.int64)
    group = np.where(primes < params.train_min, 3, np.where(primes > params.train_max, 2, 0))
    group[np.isin(primes, sorted(unseen))] = 1
    return primes, group.astype(np.int64)


def _named_groups(params: UniversalParams) -> tuple[np.ndarray, np.ndarray]:
    primes = np.array(_primes(2, params.max_p), dtype=np.int64)
    extrap = params.extrapolation_primes
    if extrap is None:  # every prime above the named seen and unseen ones
        extrap = primes[primes > max((*params.train_primes, *(params.unseen_primes or ())))]
    group = np.full(len(primes), 3, dtype=np.int64)
    for code, named in ((0, params.train_primes), (1, params.unseen_primes or ()), (2, extrap)):
        group[np.isin(primes, np.asarray(named, dtype=np.int64))] = code
    return primes, group


def prime_rows(p: int, eq: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All p^2 rows [p, a, b, eq] (a-major) and their labels (a + b) mod p."""
    a, b = torch.arange(p).repeat_interleave(p), torch.arange(p).repeat(p)
    return torch.stack([torch.full_like(a, p), a, b, torch.full_like(a, eq)], 1), (a + b) % p


def _grid(params: UniversalParams, primes) -> TaskData:
    """All pairs of `primes`, with each seen prime's fixed train split (data_seed, prime by prime)."""
    seen = {int(p) for p, g in zip(*prime_groups(params)) if g == 0}
    gen = torch.Generator().manual_seed(params.data_seed)
    inputs, labels, masks = [], [], []
    for p in sorted(seen | {int(q) for q in primes}):
        n = p * p
        perm = torch.randperm(n, generator=gen) if p in seen else None  # drawn for every seen prime, in order
        if p not in primes:
            continue
        x, y = prime_rows(p, params.max_p)
        mask = torch.zeros(n, dtype=torch.bool)
        if perm is not None:
            mask[perm[: min(n - 1, max(1, int(params.frac_train * n)))]] = True
        inputs.append(x), labels.append(y), masks.append(mask)
    return TaskData(torch.cat(inputs), torch.cat(labels), torch.cat(masks))


# ----------------------------------------------------------------------------- REINFORCE
def reinforce_loss(logits: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, baseline: torch.Tensor,
                   entropy_coef: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The REINFORCE surrogate loss whose gradient estimates -grad E[reward] - entropy_coef grad H.

    Args:
        logits: [..., batch, classes] (invalid classes already masked).
        labels: [..., batch] correct answers.
        generator: draws one answer per row from softmax(logits).
        baseline: [] or [...] the reward baseline subtracted from each reward.
        entropy_coef: weight of the mean policy entropy bonus.
    Returns:
        (loss [...], mean sampled reward [...]).
    """
    logp = F.log_softmax(logits.to(torch.float64), dim=-1)
    probs = logp.exp()
    with torch.no_grad():
        flat = probs.detach().reshape(-1, probs.shape[-1])
        action = torch.multinomial(flat, 1, generator=generator).view(labels.shape)
        reward = (action == labels).to(torch.float64)
    logp_action = logp.gather(-1, action[..., None])[..., 0]
    entropy = -(probs * logp).sum(-1)  # masked classes: 0 * finite = 0
    advantage = reward - baseline.to(torch.float64)[..., None]
    loss = -(advantage * logp_action).mean(-1) - entropy_coef * entropy.mean(-1)
    return loss, reward.mean(-1)


@dataclass(frozen=True)
class _Objective:
    kind: str
    momentum: float
    entropy_coef: float
    ce_steps: int


def _corrected(module: UniversalNet, momentum: float, ce_steps: int) -> torch.Tensor:
    """The bias-corrected baseline after the REINFORCE steps taken so far (0 before any)."""
    rl_steps = int(module.reinforce.step) - ce_steps
    if rl_steps <= 0:
        return torch.zeros((), dtype=torch.float64)
    return module.reinforce.baseline.double() / (1 - momentum ** rl_steps)


# ----------------------------------------------------------------------------- the family
@register_family
class UniversalModular(Family):
    name = "universal_modular"
    description = "(a + b) mod p for every prime p <= max_p, p given by a sinusoidal encoding; CE or REINFORCE"
    Params = UniversalParams
    # CPU demo, as configs/uma_demo_ce.yaml (bench/RESULTS.md has its measurement): primes 3..31, 2 held out
    demo = {"params": {"max_p": 47, "train_min": 3, "train_max": 31, "n_unseen": 2, "frac_train": 0.7, "d_model": 64,
                       "d_mlp": 256, "d_sin": 16}, "recipe": {"lr": 3e-3}, "epochs": 2000, "schedule": "0:2000:100",
            "eval_every": 50}
    # REINFORCE warm-started by 20 CE steps: the resume test crosses the switch and the sampling path
    tiny = {"params": {"max_p": 13, "train_min": 2, "train_max": 11, "n_unseen": 1, "d_model": 16, "n_heads": 2,
                       "d_mlp": 32, "d_sin": 8, "objective": "reinforce", "ce_steps": 20},
            "epochs": 60, "schedule": "0:60:20"}

    def __init__(self):
        self._live: weakref.ref | None = None  # the training module whose buffers the objective reads and updates

    def shape(self, params: UniversalParams) -> UniversalShape:
        return UniversalShape(max_p=params.max_p, d_model=params.d_model, n_heads=params.n_heads, d_mlp=params.d_mlp,
                              n_layers=params.n_layers, d_sin=params.d_sin, sin_base=params.sin_base)

    def data(self, params: UniversalParams) -> TaskData:
        primes, group = prime_groups(params)
        return _grid(params, {int(p) for p in primes[group == 0]})

    def probe(self, params: UniversalParams) -> TaskData:
        """Every prime 2..max_p, all p^2 pairs each, in ascending p (train_mask: seen primes' training pairs)."""
        return _grid(params, {int(p) for p in prime_groups(params)[0]})

    def init_state(self, params: UniversalParams) -> dict[str, torch.Tensor]:
        return init_state(self.shape(params), params.seed)

    def train_module(self, params: UniversalParams, state) -> UniversalNet:
        if isinstance(state, list):
            raise ValueError("universal_modular trains one model at a time (stackable = False)")
        module = UniversalNet(self.shape(params), state)
        module.objective = _Objective(params.objective, params.baseline_momentum, params.entropy_coef, params.ce_steps)
        primes, group = prime_groups(params)
        module.heldout = {name: _grid(params, {int(p) for p in primes[group == g]}) if (group == g).any() else None
                          for name, g in (("unseen_acc", 1), ("extrap_acc", 2))}
        self._live = weakref.ref(module)
        return module

    def tl_model(self, params: UniversalParams, state: dict[str, torch.Tensor], device: str = "cpu") -> UniversalNet:
        return UniversalNet(self.shape(params), state, answer_only=False).to(device).eval()

    def recipe(self, params: UniversalParams) -> Recipe:
        """AdamW lr 1e-3, weight decay 1.0, betas (0.9, 0.98), full batch (Nanda et al.'s recipe)."""
        return Recipe(epochs=20_000, lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98), eval_every=100)

    def schedule(self, params: UniversalParams) -> str:
        return "0:2000:100,2000:200001:1000"

    def objective(self, logits: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Cross-entropy, or REINFORCE once `ce_steps` steps are done (module docstring);
        REINFORCE also updates the module's baseline EMA (the trainer calls this once per step)."""
        module = self._live() if self._live is not None else None
        rule = getattr(module, "objective", None)
        if rule is None or rule.kind == "ce" or int(module.reinforce.step) < rule.ce_steps:
            return self.loss(logits, labels)
        baseline = _corrected(module, rule.momentum, rule.ce_steps)
        loss, reward = reinforce_loss(logits, labels, generator, baseline, rule.entropy_coef)
        with torch.no_grad():
            ema = module.reinforce.baseline
            ema.copy_(rule.momentum * ema + (1 - rule.momentum) * reward.mean().to(ema.dtype))
        return loss

    @torch.no_grad()
    def extra_metrics(self, module: UniversalNet, logits, data: TaskData) -> list[dict[str, float]]:
        """reward, baseline, unseen_acc, extrap_acc (module docstring)."""
        device = next(module.parameters()).device
        if logits is None:
            logits = torch.cat([module(x.to(device)) for x in data.inputs.split(8192)])[None]
        train = data.train_mask.to(device)
        probs = torch.softmax(logits[0][train].double(), -1)
        row = {"reward": float(probs.gather(-1, data.labels.to(device)[train][:, None]).mean())}
        rule = module.objective
        row["baseline"] = float(_corrected(module, rule.momentum, rule.ce_steps))
        for name, held in module.heldout.items():
            if held is None:
                row[name] = float("nan")
                continue
            hits = [(module(x.to(device)).argmax(-1) == y.to(device)).sum() for x, y in
                    zip(held.inputs.split(8192), held.labels.split(8192))]
            row[name] = float(torch.stack(hits).sum()) / len(held.labels)
        return [row]

    def capabilities(self, params: UniversalParams) -> Capabilities:
        primes, group = prime_groups(params)
        last = params.n_layers - 1
        multi = MultiPrime(max_p=params.max_p, primes=[int(p) for p in primes], groups=[int(g) for g in group],
                           group_names=list(GROUPS), modulus=0, operands=(1, 2), answer=N_CTX - 1,
                           answer_neuron_hook=f"blocks.{last}.mlp.hook_post")
        return Capabilities(transformer=True, n_layers=params.n_layers, n_heads=params.n_heads, final_ln=False,
                            neuron_hooks=[f"blocks.{i}.mlp.hook_post" for i in range(params.n_layers)], multi_prime=multi)
