"""Universal modular addition (issue 13): one transformer computes (a + b) mod p for every
prime p <= max_p, the modulus given as input through a sinusoidal modulus encoding
(SinPE, families/_universal.py), trained by cross-entropy or by REINFORCE.

Primes. The primes in [train_min, train_max] are the training range; `n_unseen` of its
interior primes (never its two ends), drawn from `prime_seed`, are held out ("unseen").
The rest are "seen" (training) primes. Primes above train_max up to max_p are
"extrapolation"; primes below train_min are "below" the range. Or by name (issue 28):
`unseen_primes` names the held-out primes of the range (replacing n_unseen and prime_seed,
which stay at their defaults): the rest of the range is seen. `train_primes` names the seen
primes instead of the range (train_min and train_max then stay at their defaults, unused).
`extrapolation_primes` names those; without it every prime above the largest seen or unseen
prime up to max_p extrapolates. A prime <= max_p in no group is group "below" (outside the
split). Run names stay under 255 bytes: name the unseen primes of a range where you can. For every seen prime all
p^2 pairs (a, b) are split train/test once, from `data_seed` (fraction `frac_train`);
the split is fixed for the whole run, so the test pairs are never trained on. `data()`
is the seen primes' pairs; the analysis probe is every prime 2..max_p, all pairs.

Architectures (`arch`, issue 28): ``compact`` (default) is families/_universal.py, one
stack of blocks without LayerNorm, logits masked to the p valid classes; ``miras`` is the
MIRAS study's model (families/_miras.py: SinPE plus an affine term in p, its "TitansMemory"
map on position 0, pre-LN blocks with full attention, an unmasked `n_classes`-wide
unembedding). The study's size is set by its configs (n_layers=2, n_classes=150), never by
changing defaults.

Data (`sampling`): ``fixed_split`` (default) trains the fixed train pairs above. ``fresh``
is the study's regime: every optimizer step draws its rows (Family.fresh_batches, from the
trainer's counter-based generator, so resume is bit-exact): for each current training prime
in ascending order all p^2 pairs if p < all_below, else `pairs_per_p` pairs
(a, b) uniform with replacement; the pool is shuffled and its first min(pool, fresh_batch)
rows train. During steps 0..curr_steps (inclusive, as the study) only the
`curr_primes` smallest training primes are current. There are no held-out pairs:
`data` is every pair of every training prime, evaluated as "train" (test metrics NaN).

Objectives (`objective`):
- ``ce``: mean cross-entropy over the valid classes (logits of c >= p are masked).
- ``reinforce``: REINFORCE (Williams 1992). Per row, one answer is sampled from the
  policy softmax(masked logits) with the step's seeded generator; reward 1 if correct,
  else 0. Loss = -mean((r - b) log pi(answer)) - entropy_coef * mean(H(pi)), where b is
  the moving-average reward, an EMA with momentum `baseline_momentum` over the batch mean
  rewards (starting at 0, updated after each REINFORCE step), read as `baseline_mode` says:
  ``corrected`` (default): bias-corrected as Adam's moments are, EMA / (1 - momentum^t)
  after t REINFORCE steps, so it starts at the first batch's mean (0 on the first step);
  ``study``: as the MIRAS study's train_rl.py does it, 0.5 on the first REINFORCE step and
  the raw EMA after (so it starts near 0 and rises to the reward over ~1/(1 - momentum)
  steps; the study's EMA is a Python double, ours float32). The raw EMA and the step count
  are module buffers in every checkpoint and resume file, so resume is exact. `ce_steps` > 0 trains by cross-entropy for that many
  optimizer steps first: the run is then the cross-entropy run (same params, recipe and
  seeds) up to that step, continued by REINFORCE from its weights and optimizer state, i.e.
  a warm start from the CE checkpoint at that step.

Metrics at each evaluation, besides the trainer's (train/test = the seen primes' pairs):
``reward`` (expected reward of the policy on the training pairs, mean pi(correct)),
``baseline`` (the baseline the next REINFORCE step subtracts, by `baseline_mode`; 0 during
the cross-entropy steps),
``unseen_acc`` and ``extrap_acc`` (accuracy over all pairs of the unseen and of the
extrapolation primes; NaN when there are none). The trainer's losses stay cross-entropy
for both objectives.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator

from families import _miras
from families._universal import N_CTX, UniversalNet, UniversalShape, init_state
from families._universal_split import eq_token, fresh_draw, n_classes, prime_groups, prime_rows, primes_between
from families.modular_addition import MAX_SEED, is_prime
from workbench.core.capabilities import Capabilities, MultiPrime
from workbench.core.family import Family, TaskData, register_family
from workbench.core.recipe import Recipe

__all__ = ["UniversalModular", "UniversalParams", "reinforce_loss", "prime_groups", "GROUPS", "prime_rows"]

GROUPS = ("seen", "unseen", "extrapolation", "below")  # group codes 0..3 of a prime
_WHEN_SET = {"in_name": "when_set"}
_FRESH = ("fresh_batch", "all_below", "pairs_per_p", "curr_primes", "curr_steps")


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
    baseline_mode: Literal["corrected", "study"] = Field("corrected", description="reinforce: bias-corrected EMA "
                                                         "baseline, or the study's (0.5, then the raw EMA from 0)",
                                                         json_schema_extra=_WHEN_SET)
    entropy_coef: float = Field(0.01, ge=0, le=10, allow_inf_nan=False, description="reinforce: entropy bonus",
                                json_schema_extra=_WHEN_SET)
    ce_steps: int = Field(0, ge=0, le=10**9, description="reinforce: cross-entropy steps first (warm start)",
                          json_schema_extra=_WHEN_SET)
    arch: Literal["compact", "miras"] = Field("compact", description="compact (no LayerNorm, masked logits) or the "
                                              "MIRAS study's model", json_schema_extra=_WHEN_SET)
    n_classes: int | None = Field(None, ge=5, le=1024, description="miras: unembedding width (default max_p)",
                                  json_schema_extra=_WHEN_SET)
    d_mem: int = Field(128, ge=1, le=4096, description="miras: memory width", json_schema_extra=_WHEN_SET)
    sampling: Literal["fixed_split", "fresh"] = Field("fixed_split", description="fixed train pairs, or the study's "
                                                      "fresh rows every step", json_schema_extra=_WHEN_SET)
    fresh_batch: int = Field(1024, ge=1, le=1 << 20, description="fresh: rows per step (at most)",
                             json_schema_extra=_WHEN_SET)
    all_below: int = Field(20, ge=0, le=1024, description="fresh: primes below this give all their pairs",
                                 json_schema_extra=_WHEN_SET)
    pairs_per_p: int = Field(50, ge=1, le=1 << 20, description="fresh: random pairs of each larger prime",
                                 json_schema_extra=_WHEN_SET)
    curr_primes: int = Field(8, ge=0, le=64, description="fresh: smallest training primes used first (0: none)",
                                   json_schema_extra=_WHEN_SET)
    curr_steps: int = Field(10_000, ge=0, le=10**9, description="fresh: the curriculum lasts steps 0..this",
                                  json_schema_extra=_WHEN_SET)
    train_primes: tuple[int, ...] | None = Field(None, description="seen (training) primes by name, e.g. 2+3+5, "
                                                 "instead of the range train_min..train_max",
                                                 json_schema_extra=_WHEN_SET)
    unseen_primes: tuple[int, ...] | None = Field(None, description="held-out primes by name (instead of n_unseen "
                                                  "and prime_seed)",
                                                  json_schema_extra=_WHEN_SET)
    extrapolation_primes: tuple[int, ...] | None = Field(None, description="extrapolation primes by name (default: "
                                                         "every prime above the seen and unseen ones)",
                                                         json_schema_extra=_WHEN_SET)

    @model_validator(mode="after")
    def _consistent(self) -> "UniversalParams":
        if self.train_primes is not None:
            return self._named()
        if not self.train_min <= self.train_max <= self.max_p:
            raise ValueError(f"need train_min <= train_max <= max_p, got {self.train_min}, {self.train_max}, {self.max_p}")
        if self.unseen_primes is not None or self.extrapolation_primes is not None:
            return self._named()
        interior = len(primes_between(self.train_min, self.train_max)[1:-1])
        if self.n_unseen > interior:
            raise ValueError(f"n_unseen={self.n_unseen} but the range {self.train_min}..{self.train_max} "
                             f"has only {interior} interior primes")
        return self._objective_ok()

    def _objective_ok(self) -> "UniversalParams":
        fields = type(self).model_fields
        if self.arch == "compact" and (self.n_classes is not None or self.d_mem != fields["d_mem"].default):
            raise ValueError("n_classes and d_mem apply to arch=miras")
        if self.arch == "miras" and (self.d_sin != fields["d_sin"].default or self.sin_base != fields["sin_base"].default):
            raise ValueError("d_sin and sin_base apply to arch=compact (miras encodes p at width d_model, base 10000)")
        if self.n_classes is not None and self.n_classes < self.max_p:
            raise ValueError(f"n_classes={self.n_classes} must be at least max_p={self.max_p}")
        if self.sampling == "fixed_split" and any(getattr(self, k) != fields[k].default for k in _FRESH):
            raise ValueError(f"{', '.join(_FRESH)} apply to sampling=fresh")
        if self.d_model % self.n_heads or self.d_sin % 2:
            raise ValueError(f"d_model={self.d_model} must be a multiple of n_heads={self.n_heads} and d_sin={self.d_sin} even")
        if self.objective == "ce" and (self.ce_steps or self.baseline_mode != fields["baseline_mode"].default):
            raise ValueError("ce_steps (a cross-entropy warm start) and baseline_mode apply to objective=reinforce")
        return self

    def _named(self) -> "UniversalParams":
        """Named primes: primes <= max_p, in one list each, at least one seen; the fields they replace unused."""
        fields = type(self).model_fields
        replaced = ("train_min", "train_max", "n_unseen", "prime_seed") if self.train_primes is not None else (
            "n_unseen", "prime_seed")
        moved = [k for k in replaced if getattr(self, k) != fields[k].default]
        if moved:
            raise ValueError(f"named primes replace {', '.join(replaced)}: leave {', '.join(moved)} at the default")
        if self.train_primes is not None and not self.train_primes:
            raise ValueError("train_primes needs at least one prime")
        outside = [p for p in self.unseen_primes or () if self.train_primes is None and not
                   self.train_min <= p <= self.train_max]
        if outside:
            raise ValueError(f"unseen prime {outside[0]} lies outside the training range {self.train_min}..{self.train_max}")
        named = [p for k in ("train_primes", "unseen_primes", "extrapolation_primes") for p in getattr(self, k) or ()]
        bad = [p for p in named if not is_prime(p) or p > self.max_p]
        if bad:
            raise ValueError(f"named primes must be primes <= max_p={self.max_p}, got {bad[0]}")
        if len(set(named)) != len(named):
            raise ValueError("a prime is named twice (train_primes, unseen_primes and extrapolation_primes are disjoint)")
        return self._objective_ok()


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
        x, y = prime_rows(p, eq_token(params))
        mask = torch.zeros(n, dtype=torch.bool)
        if params.sampling == "fresh":  # no held-out pairs: every pair of a seen prime is trained on
            mask[:] = p in seen
        elif perm is not None:
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
    baseline_mode: str = "corrected"


STUDY_FIRST_BASELINE = 0.5  # train_rl.py: `running_reward if epoch > 0 else 0.5`


def _baseline(module: UniversalNet, rule: _Objective) -> torch.Tensor:
    """The baseline the next REINFORCE step subtracts, by rule.baseline_mode (module docstring); 0 during CE steps."""
    rl_steps = int(module.reinforce.step) - rule.ce_steps
    zero = torch.zeros((), dtype=torch.float64)
    if rl_steps < 0:
        return zero
    ema = module.reinforce.baseline.double()
    if rule.baseline_mode == "study":
        return torch.tensor(STUDY_FIRST_BASELINE, dtype=torch.float64) if rl_steps == 0 else ema
    return ema / (1 - rule.momentum ** rl_steps) if rl_steps > 0 else zero


# ----------------------------------------------------------------------------- the family
@register_family
class UniversalModular(Family):
    name = "universal_modular"
    description = "(a + b) mod p for every prime p <= max_p, p given by a sinusoidal encoding; CE or REINFORCE"
    Params = UniversalParams
    seed_params = ("seed", "data_seed", "prime_seed")
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

    def shape(self, params: UniversalParams) -> UniversalShape | _miras.MirasShape:
        if params.arch == "miras":
            return _miras.MirasShape(n_classes=n_classes(params), d_model=params.d_model, n_heads=params.n_heads,
                                     d_mlp=params.d_mlp, d_mem=params.d_mem, n_layers=params.n_layers)
        return UniversalShape(max_p=params.max_p, d_model=params.d_model, n_heads=params.n_heads, d_mlp=params.d_mlp,
                              n_layers=params.n_layers, d_sin=params.d_sin, sin_base=params.sin_base)

    def data(self, params: UniversalParams) -> TaskData:
        primes, group = prime_groups(params)
        return _grid(params, {int(p) for p in primes[group == 0]})

    def probe(self, params: UniversalParams) -> TaskData:
        """Every prime 2..max_p, all p^2 pairs each, in ascending p (train_mask: seen primes' training pairs)."""
        return _grid(params, {int(p) for p in prime_groups(params)[0]})

    def fresh_batches(self, params: UniversalParams):
        """The study's fresh rows every step (sampling=fresh), else None (module docstring)."""
        return fresh_draw(params) if params.sampling == "fresh" else None

    def init_state(self, params: UniversalParams) -> dict[str, torch.Tensor]:
        if params.arch == "miras":
            return _miras.init_state(self.shape(params), params.seed)
        return init_state(self.shape(params), params.seed)

    def _net(self, params: UniversalParams, state, answer_only: bool = True) -> UniversalNet | _miras.MirasNet:
        net = _miras.MirasNet if params.arch == "miras" else UniversalNet
        return net(self.shape(params), state, answer_only=answer_only)

    def train_module(self, params: UniversalParams, state) -> UniversalNet:
        if isinstance(state, list):
            raise ValueError("universal_modular trains one model at a time (stackable = False)")
        module = self._net(params, state)
        module.objective = _Objective(params.objective, params.baseline_momentum, params.entropy_coef, params.ce_steps,
                                      params.baseline_mode)
        primes, group = prime_groups(params)
        module.heldout = {name: _grid(params, {int(p) for p in primes[group == g]}) if (group == g).any() else None
                          for name, g in (("unseen_acc", 1), ("extrap_acc", 2))}
        self._live = weakref.ref(module)
        return module

    def tl_model(self, params: UniversalParams, state: dict[str, torch.Tensor], device: str = "cpu") -> UniversalNet:
        return self._net(params, state, answer_only=False).to(device).eval()

    def recipe(self, params: UniversalParams) -> Recipe:
        """compact: AdamW lr 1e-3, weight decay 1.0, betas (0.9, 0.98), full batch (Nanda et al.'s recipe).
        miras: the study's AdamW lr 1e-3, betas (0.9, 0.999), weight decay 1.0 on every parameter, cosine
        to 0 over 100,000 steps without warmup (lr_at equals CosineAnnealingLR's closed form)."""
        if params.arch == "miras":
            return Recipe(epochs=100_000, lr=1e-3, weight_decay=1.0, betas=(0.9, 0.999), no_decay=(),
                          lr_schedule="warmup_cosine", warmup_steps=0, decay_steps=100_000, eval_every=500)
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
        baseline = _baseline(module, rule)
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
        row["baseline"] = float(_baseline(module, rule))
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
