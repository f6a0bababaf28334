"""The models one training job steps together, with their data and metrics.

A stackable family trains several seeds as one module with a leading member axis; any
other family trains one model, which is seen here as a stack of one, so the training
loop has a single shape: inputs [member, rows, ...] -> logits [member, rows, ..., classes].
The module is a `workbench.core.train_module.TrainModule`; its hooks are called here and
nowhere else.
"""

from __future__ import annotations

import math
from typing import Iterator

import torch

from workbench.core.errors import UserError
from workbench.core.family import IGNORE, METRIC_NAMES
from workbench.core.recipe import Recipe, build_optimizer, epoch_batches, steps_per_epoch
from workbench.core.train_module import DATA_STREAM, step_generator
from workbench.training.step import EagerStep

__all__ = ["Members", "shared_draw", "chunk_sizes", "member_bytes", "MEMORY_HEADROOM"]

EVAL_CHUNK = 2**26  # logits elements per evaluation forward; larger tasks are evaluated in row chunks
MEMORY_HEADROOM = 0.8  # fraction of the device's free memory a stacked job may plan to use


class Members:
    """Module, data, training rows and metrics of the members of one training job."""

    def __init__(self, variants: list, device: str, loaded: list[tuple[dict, dict, dict]] | None = None):
        """Members for `variants` (differing only in seeds), freshly initialized or from `loaded`.

        Args:
            variants: one Variant per member.
            device: torch device.
            loaded: per member (weights, saved training-state tensors, metrics so far), as
                `_resume.load_resume` gives; None for a fresh run.
        """
        lead = variants[0]
        self.family, self.params = lead.family, lead.params
        self.variants, self.device = variants, device
        datas = [self.family.data(v.params) for v in variants]
        self.data = datas[0]
        self.inputs, self.labels = datas[0].inputs.to(device), datas[0].labels.to(device)  # shared rows; splits differ
        self.train_masks = [d.train_mask.to(device) for d in datas]
        self.train_inputs = torch.stack([self.inputs[m] for m in self.train_masks])  # [member, train_rows, ...]
        self.train_labels = torch.stack([self.labels[m] for m in self.train_masks])
        self.n_train = self.train_inputs.shape[1]
        # splits with no rows (e.g. no test rows under fresh batches), counted once: evaluating never syncs for it
        self._empty = [{s for s, n in (("train", int(m.sum())), ("test", int((~m).sum()))) if n == 0}
                       for m in self.train_masks]
        self.draw = shared_draw(variants)
        self._n_classes: int | None = None
        if loaded is None:
            states = [self.family.init_state(v.params) for v in variants]
            self.saved: list[dict] = [{}]
            self.metrics = [{"epoch": [], **{k: [] for k in METRIC_NAMES}} for _ in variants]
        else:
            states, self.saved, self.metrics = (list(x) for x in zip(*loaded))
        stacked = self.family.stackable
        self.module = self.family.train_module(self.params, states if stacked else states[0]).to(device)
        self.stacked = self.module.n_members is not None
        if self.stacked != stacked or (stacked and self.module.n_members != len(variants)):
            raise TypeError(f"family {self.family.name!r}: stackable={stacked} but train_module returned a module "
                            f"with n_members={self.module.n_members} for {len(variants)} member(s)")

    # ---------------------------------------------------------------- the step
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """[member, rows, ...] -> [member, rows, ..., classes]."""
        return self.module(inputs) if self.stacked else self.module(inputs[0])[None]

    def loss(self, inputs: torch.Tensor, labels: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """The family's objective summed over members: each member's gradient is its own."""
        return self.family.objective(self.forward(inputs), labels, gen).sum()

    def steps_per_epoch(self, recipe: Recipe) -> int:
        """Optimizer steps in one epoch: one with fresh batches, else the recipe's over the training rows."""
        return 1 if self.draw is not None else steps_per_epoch(recipe, self.n_train)

    def epoch(self, recipe: Recipe, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The (inputs, labels) [member, rows, ...] of each step of `epoch` (1-based), in order."""
        if self.draw is not None:  # one fresh batch; the step it trains in is epoch - 1
            inputs, labels = self.draw(epoch - 1, step_generator(recipe.batch_seed, epoch - 1, DATA_STREAM))
            m = len(self.variants)
            yield inputs.to(self.device).expand(m, *inputs.shape), labels.to(self.device).expand(m, *labels.shape)
            return
        for rows in epoch_batches(recipe, self.n_train, epoch) or [None]:
            yield self.train_batch(rows)

    def train_batch(self, rows: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The training inputs and labels of one step (all rows, or `rows` of each member's)."""
        if rows is None:
            return self.train_inputs, self.train_labels
        rows = rows.to(self.device)
        return self.train_inputs[:, rows], self.train_labels[:, rows]

    def clip_grad_norm(self, max_norm: float) -> None:
        """Clip each member's whole gradient to `max_norm` (torch's clip_grad_norm_ per member)."""
        grads = [p.grad for p in self.module.parameters() if p.grad is not None]
        if self.stacked:
            norm = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads]).sum(0).sqrt()  # [member]
        else:
            norm = torch.stack([g.pow(2).sum() for g in grads]).sum().sqrt()
        coef = (max_norm / (norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.view(-1, *[1] * (g.ndim - 1)) if self.stacked else coef)

    def before_step(self, step: int, generator: torch.Generator) -> None:
        self.module.before_step(step, generator)

    def after_step(self) -> None:
        self.module.after_step()

    def hooked_state(self, k: int) -> dict[str, torch.Tensor]:
        return self.module.hooked_state(k if self.stacked else None)

    # ---------------------------------------------------------------- metrics
    @torch.no_grad()
    def evaluate(self) -> list[dict[str, float]]:
        """Train/test loss and accuracy (and family extras) per member over all rows."""
        m = len(self.variants)
        per_row = math.prod(self.labels.shape[1:]) * self._classes()
        chunk = max(1, EVAL_CHUNK // max(1, per_row * m))
        if chunk >= len(self.inputs):  # one forward: the arithmetic every earlier run used
            logits = self.forward(self.inputs.expand(m, *self.inputs.shape))
            rows = _read([self._split_metrics(logits[k], k) for k in range(m)])
            extras = self.family.extra_metrics(self.module, logits, self.data)
        else:
            rows = self._chunked(chunk)
            extras = self.family.extra_metrics(self.module, None, self.data)
        return [{**row, **(extras[k] if extras else {})} for k, row in enumerate(rows)]

    def _classes(self) -> int:
        """Logits per scored label, from a one-row forward (cached)."""
        if self._n_classes is None:
            x = self.inputs[:1]
            self._n_classes = int(self.forward(x.expand(len(self.variants), *x.shape)).shape[-1])
        return self._n_classes

    def _split_metrics(self, logits: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
        """Member k's loss and accuracy per split, as device scalars (read later, all at once)."""
        row, mask = {}, self.train_masks[k]
        for split, sel in (("train", mask), ("test", ~mask)):
            if split in self._empty[k]:  # no rows (e.g. all train under fresh batches): NaN, not a loss of nothing
                row[f"{split}_loss"] = row[f"{split}_acc"] = torch.tensor(float("nan"), device=logits.device)
                continue
            lg, lb = logits[sel], self.labels[sel]
            valid = lb != IGNORE
            row[f"{split}_loss"] = self.family.loss(lg, lb)
            # integer counts, then one float32 division: the bits of the mean of the 0/1 floats
            row[f"{split}_acc"] = ((lg.argmax(-1) == lb) & valid).sum() / valid.sum()
        return row

    def _chunked(self, chunk: int) -> list[dict[str, float]]:
        """As _split_metrics over all rows, in row chunks (loss weighted by scored labels)."""
        m = len(self.variants)
        sums = [{k: 0.0 for k in (*METRIC_NAMES, "train_n", "test_n")}
                for _ in range(m)]
        for start in range(0, len(self.inputs), chunk):
            x = self.inputs[start:start + chunk]
            logits = self.forward(x.expand(m, *x.shape))
            labels = self.labels[start:start + chunk]
            for k, mask in enumerate(self.train_masks):
                for split, sel in (("train", mask[start:start + chunk]), ("test", ~mask[start:start + chunk])):
                    lb = labels[sel]
                    n = int((lb != IGNORE).sum())
                    if n:
                        sums[k][f"{split}_loss"] += float(self.family.loss(logits[k][sel], lb)) * n
                        sums[k][f"{split}_acc"] += float(((logits[k][sel].argmax(-1) == lb) & (lb != IGNORE)).sum())
                        sums[k][f"{split}_n"] += n
        return [{f"{s}_{q}": (d[f"{s}_{q}"] / d[f"{s}_n"] if d[f"{s}_n"] else float("nan"))
                 for s in ("train", "test") for q in ("loss", "acc")} for d in sums]

    def record(self, epoch: int) -> list[dict[str, float]]:
        """Evaluate and append a row to each member's metrics table."""
        values = self.evaluate()
        for member, row in zip(self.metrics, values):
            member.setdefault("epoch", []).append(epoch)
            for k, v in row.items():
                member.setdefault(k, []).append(v)
        return values


def shared_draw(variants: list):
    """The lead member's fresh-batch draw (Family.fresh_batches), or None; stacked members must
    draw the same rows (UserError if the first step's draws differ, e.g. by a data seed)."""
    family = variants[0].family
    draws = [family.fresh_batches(v.params) for v in variants]
    if draws[0] is None or len(draws) == 1:
        return draws[0]
    first = [d(0, step_generator(0, 0, DATA_STREAM)) for d in draws]
    for v, (x, y) in zip(variants[1:], first[1:]):
        if not (torch.equal(x, first[0][0]) and torch.equal(y, first[0][1])):
            raise UserError(f"{v.spec} draws other training rows than {variants[0].spec}: stacked members share "
                            "their fresh batches; stack only variants that draw the same rows")
    return draws[0]


def _read(rows: list[dict[str, torch.Tensor]]) -> list[dict[str, float]]:
    """Device scalars -> floats with one transfer (one host sync per evaluation, not one per number)."""
    names = list(rows[0])
    values = torch.stack([torch.stack([r[n].double() for n in names]) for r in rows]).cpu().tolist()
    return [dict(zip(names, v)) for v in values]


# -------------------------------------------------------------------- chunks by memory
def chunk_sizes(n: int, free_bytes: int, per_member_bytes: int, headroom: float = MEMORY_HEADROOM) -> list[int]:
    """Split n stacked members into as few, as even chunks as fit in `headroom` of the free memory.

    A pure function: 256 members at 1 GB each with 100 GB free fit 80 at a time, so four
    chunks of 64; at least one member per chunk, whatever the estimate.

    >>> chunk_sizes(256, 100 * 2**30, 2**30)
    [64, 64, 64, 64]
    """
    fit = max(1, int(free_bytes * headroom) // max(1, per_member_bytes))
    count = math.ceil(n / min(n, fit))
    return [n // count + (1 if i < n % count else 0) for i in range(count)]


def member_bytes(variant, recipe, device: str) -> int:
    """Device memory one more stacked member costs (CUDA): the growth of the peak over a
    training step and an evaluation from 1 to 2 members of `variant`, both measured."""
    peaks = []
    for m in (1, 2):
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        members = Members([variant] * m, device)
        opt = build_optimizer(recipe, dict(members.module.named_parameters()), None)
        EagerStep(members, opt, recipe)(*next(members.epoch(recipe, 1)), 0)
        members.evaluate()
        peaks.append(torch.cuda.max_memory_allocated(device) - start)
        del members, opt
    return max(1, peaks[1] - peaks[0])
