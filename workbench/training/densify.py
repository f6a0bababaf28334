"""`workbench densify`: extra checkpoints inside a trained run, from a replay proven faithful.

A run keeps its full training state (weights + optimizer, what the resume file holds) at
epoch 0 and at every checkpoint that is a multiple of its `state_every` (`states/`, see
workbench.training.resume). Densify loads the last kept state at or before the window's start E1
and steps the trainer's own loop (`trainer.setup`, `trainer.run_epochs`) forward, writing
a checkpoint at every multiple of N in [E1, E2] that is not one already, and evaluating
the metrics there, as a run trained straight through with those checkpoints would have.
N defaults to the coarsest 1, 2 or 5 x 10^k that gives at least 20 checkpoints in the
window and at least twice the run's checkpoint density there.

The replay proves itself, on the machine that runs it:
  - the kept state's weights must equal the checkpoint at the state's epoch;
  - every checkpoint that already exists in the replayed stretch must come out
    bit-identical (every tensor, byte for byte).
New checkpoints are held in memory until the next existing checkpoint after them has
matched, so the replay runs on past E2 to the first existing checkpoint at or after it
(at most one interval of the run's schedule). On a mismatch densify refuses in one line
naming the epoch and tensor; the checkpoints it committed before (each vouched for by an
earlier match) stay, nothing else is written, and nothing that existed is removed.

What it changes: new `checkpoints/epoch_*.safetensors`; their metric rows merged into
metrics.npz, so that file holds exactly the rows a straight run with the dense schedule
writes (training evaluates at every checkpoint); and a `densified` list in variant.json
({window, every, from_state, replayed_to, epochs, threads} per call). It never touches the resume
file, the kept states, status.json, or variant.json's identity and plan fields. It holds
the run's train lock, so it never runs beside a trainer of the same run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from tqdm import tqdm

from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.compute import check_device, set_threads
from workbench.core.errors import UserError
from workbench.core.variant import Variant, parse_variant, short_label
from workbench.store import RunKey, Store
from workbench.store.lock import run_lock
from workbench.store.markers import marker_label, read_markers
from workbench.training import resume as _resume
from workbench.training.step import EagerStep
from workbench.training.threads import run_threads
from workbench.training.trainer import run_epochs, setup

__all__ = ["DensifyPlan", "plan_densify", "densify", "turn_window", "default_every", "MIN_CHECKPOINTS"]

MIN_CHECKPOINTS = 20  # the default --every puts at least this many checkpoints in the window
_WINDOW = re.compile(r"([0-9]{1,18}):([0-9]{1,18})", re.ASCII)


# ----------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class DensifyPlan:
    """What one densify call will do, validated before anything is written."""

    variant: Variant
    key: RunKey
    window: tuple[int, int]  # [E1, E2], inclusive
    every: int
    new: tuple[int, ...]  # epochs to write (multiples of `every` in the window, not checkpoints yet)
    start: int  # epoch of the kept state the replay starts from
    stop: int  # first existing checkpoint at or after the last new epoch: the replay's end
    how: str  # how the window was chosen, for the user

    def stamp(self) -> tuple:
        return self.window, self.every, self.new, self.start, self.stop


def turn_window(onset: int, midpoint: int, pad_min: int) -> tuple[int, int]:
    """[onset - w, midpoint + w] with w = midpoint - onset, at least `pad_min` (the eval cadence)."""
    w = max(midpoint - onset, pad_min)
    return max(0, onset - w), midpoint + w


def default_every(width: int, spacing: int | None = None) -> int:
    """The coarsest step of 1, 2 or 5 x 10^k that puts at least MIN_CHECKPOINTS multiples in a
    window `width` epochs wide and is at most half the run's checkpoint `spacing` there."""
    limit = width / MIN_CHECKPOINTS if spacing is None else min(width / MIN_CHECKPOINTS, spacing / 2)
    steps = [m * 10**k for k in range(19) for m in (1, 2, 5)]
    return max([s for s in steps if s <= limit], default=1)


def _spacing(existing: set[int], e1: int, e2: int) -> int:
    """The smallest gap between the run's checkpoints from the last at or before e1 to the first at or after e2."""
    lo = max((e for e in existing if e <= e1), default=min(existing))
    hi = min((e for e in existing if e >= e2), default=max(existing))
    around = sorted(e for e in existing if lo <= e <= hi)
    return min((b - a for a, b in zip(around, around[1:])), default=max(1, hi - lo))


def plan_densify(spec: str, store: Store, *, around: str = "turn", every: int | None = None) -> DensifyPlan:
    """Resolve the window, the new epochs and the replay's start and end; UserError on any bad input.

    Args:
        spec: the trained variant.
        store: its store.
        around: "E1:E2" (inclusive epochs), or a summary analyzer that marks a transition with
            two markers, e.g. "turn" (its onset and midpoint, from `workbench analyze`).
        every: write checkpoints at multiples of this (default: `default_every` of the window).
    """
    variant = parse_variant(spec)
    key = RunKey(*variant.key)
    if not store.exists(key):
        raise UserError(f"no trained run for {variant.spec!r} in {store.root}; run `workbench train {spec}` first")
    record = store.read_record(key)
    if record.stacked:
        raise UserError(f"{variant.spec} was trained stacked with other seeds (a sweep); replayed alone its "
                        "arithmetic differs slightly, so densify cannot prove a replay faithful")
    extent = store.resume_epoch(key)
    if extent is None:
        raise UserError(f"{variant.spec} has no finished checkpoint yet; nothing to densify")
    cadence = record.eval_every if record.eval_every > 0 else 1
    (e1, e2), how = _window(store, key, variant.spec, around, extent, cadence)
    if every is not None and every <= 0:
        raise UserError(f"--every must be positive, got {every}")
    existing = set(store.checkpoint_epochs(key)) or {extent}
    every = every or default_every(e2 - e1, _spacing(existing, e1, e2))
    new = tuple(e for e in range(math.ceil(e1 / every) * every, e2 + 1, every) if e not in existing)
    start = _state_before(store, key, variant.spec, e1)
    after = [e for e in existing if max(new, default=e2) <= e <= extent]
    if not after:
        raise UserError(f"{variant.spec} has no checkpoint from epoch {max(new, default=e2)} to {extent} "
                        "to check the replay against")
    return DensifyPlan(variant, key, (e1, e2), every, new, start, min(after), how)


def _window(store: Store, key: RunKey, spec: str, around: str, extent: int, eval_every: int):
    """((E1, E2), description) from --around, inside the trained epochs [0, extent].

    `around` is E1:E2, or the name of a summary analyzer that marks a transition: its first
    two declared markers are the transition's start and steepest point (the `turn`
    analyzer's onset and midpoint), and the window pads them by their distance.
    """
    match = _WINDOW.fullmatch(around.strip())
    if match:
        e1, e2 = int(match.group(1)), int(match.group(2))
        if e1 > e2 or e2 > extent:
            raise UserError(f"window {e1}:{e2} is outside {spec}'s trained epochs 0..{extent} (or reversed)")
        return (e1, e2), f"epochs {e1}..{e2}"
    name = around.strip()
    if name not in list_analyzers(scope="summary") or len(get_analyzer(name).markers) < 2:
        marking = [a for a in list_analyzers(scope="summary") if len(get_analyzer(a).markers) >= 2]
        raise UserError(f"--around expects an analyzer that marks a transition ({', '.join(marking)}) or E1:E2 "
                        f"(whole epochs), got {around!r}")
    first, second = get_analyzer(name).markers[:2]
    marks = read_markers(store, key)
    if first not in marks or second not in marks:
        raise UserError(f"no {name} detected for {spec}: run `workbench analyze` on it first (a run that never "
                        "makes the transition has none), or give --around E1:E2")
    onset, mid = marks[first], marks[second]
    e1, e2 = turn_window(onset, mid, eval_every)
    pad = max(mid - onset, eval_every)  # as turn_window pads
    return (e1, min(e2, extent)), f"{marker_label(first)} {onset} to {marker_label(second)} {mid}, padded by {pad} on each side"


def _state_before(store: Store, key: RunKey, spec: str, epoch: int) -> int:
    """The last kept training state at or before `epoch`."""
    kept = store.state_epochs(key)
    if not kept:
        raise UserError(f"{spec} was trained before training states were kept (no {store.STATES_DIR}/ in its "
                        "run directory), so densify has nothing to replay from; retrain it to densify it")
    before = [e for e in kept if e <= epoch]
    if not before:
        raise UserError(f"no training state of {spec} kept at or before epoch {epoch} (kept at {kept[:6]}"
                        f"{'...' if len(kept) > 6 else ''}); start the window at {kept[0]} or later")
    return before[-1]


# ----------------------------------------------------------------------------- replay
def densify(plan: DensifyPlan, store: Store, *, device: str = "cpu", quiet: bool = False) -> list[int]:
    """Replay `plan` and write its new checkpoints; return the epochs written.

    Holds the run's train lock; refuses (UserError) if the run changed since it was planned
    or if the replay does not reproduce an existing checkpoint bit for bit. Replays at the torch
    thread count the run trained those epochs at (its record): another count rounds differently.
    """
    if not plan.new:
        return []
    check_device(device)
    threads = run_threads([store.read_record(plan.key)], plan.variant.spec, after=plan.start)
    store.ensure_writable()
    set_threads(threads)
    with run_lock(store, plan.key, "train"):
        if plan_densify(plan.variant.spec, store, around=f"{plan.window[0]}:{plan.window[1]}",
                        every=plan.every).stamp() != plan.stamp():
            raise UserError(f"{plan.variant.spec} changed while densify started (another process trained it); rerun")
        store.remove_stale_temp_files(plan.key)
        return _Replay(plan, store, device, quiet).run()


class _Replay:
    """One replay: the new checkpoints it holds until an existing one vouches for them."""

    def __init__(self, plan: DensifyPlan, store: Store, device: str, quiet: bool):
        self.plan, self.store, self.quiet = plan, store, quiet
        self.written: list[int] = []
        self.new = set(plan.new)
        weights, saved = _resume.load_state(store, plan.key, plan.start)
        self._verify(plan.start, weights)  # the kept state is the checkpoint it claims to be
        self.members, self.opt, _ = setup([plan.variant], plan.variant.recipe, device, [(weights, saved, {})])
        self.existing = set(store.checkpoint_epochs(plan.key))
        self.rows_have = set(store.read_metrics(plan.key, keys=("epoch",))["epoch"].tolist())
        self.pending: dict[int, tuple[dict | None, dict | None]] = {}  # epoch -> (weights to write, metrics row)

    def run(self) -> list[int]:
        plan = self.plan
        bar = tqdm(total=plan.stop - plan.start, disable=self.quiet, unit="ep", dynamic_ncols=True,
                   desc=f"densify {short_label(plan.variant.family.name, plan.variant.dir_name)}", mininterval=0.5)
        try:
            def after_epoch(epoch: int) -> None:
                bar.update(1)
                self._after_epoch(epoch)

            run_epochs(self.members, self.opt, plan.variant.recipe, plan.start, plan.stop, after_epoch,
                       EagerStep(self.members, self.opt, plan.variant.recipe))
        finally:
            bar.close()
            if self.written:
                self._note()
        return self.written

    def _after_epoch(self, epoch: int) -> None:
        if epoch in self.new:
            weights = {k: v.detach().cpu().clone() for k, v in self.members.hooked_state(0).items()}
            self.pending[epoch] = (weights, self._row(epoch))
        elif epoch in self.existing:
            self._verify(epoch, self.members.hooked_state(0))
            if epoch not in self.rows_have:  # a row lost when an earlier densify was killed mid-commit
                self.pending[epoch] = (None, self._row(epoch))
            self._commit()

    def _row(self, epoch: int) -> dict[str, float] | None:
        """The metrics at `epoch`, unless metrics.npz has them already (an evaluation epoch)."""
        return None if epoch in self.rows_have else self.members.evaluate()[0]

    def _verify(self, epoch: int, weights: dict[str, torch.Tensor]) -> None:
        """UserError unless checkpoint `epoch` on disk equals `weights` bit for bit."""
        saved = self.store.load_checkpoint(self.plan.key, epoch)
        bad = sorted(set(saved) ^ set(weights)) or [k for k in sorted(saved) if not _same_bits(saved[k], weights[k])]
        if not bad:
            return
        plan = self.plan
        if epoch == plan.start:
            raise UserError(f"densify refused: the training state of {plan.variant.spec} kept at epoch {epoch} does "
                            f"not match its checkpoint at epoch {epoch} ({bad[0]} differs): one of them was changed; "
                            "nothing written")
        kept = f"{len(self.written)} new checkpoints matched before it were kept" if self.written else "nothing"
        raise UserError(f"densify refused: replaying {plan.variant.spec} from its state at epoch {plan.start} does "
                        f"not reproduce the existing checkpoint at epoch {epoch} ({bad[0]} differs), so the replay "
                        f"is not faithful here (another machine, torch, thread count, or a changed file); "
                        f"{kept} written")

    def _commit(self) -> None:
        """Write the pending checkpoints (an existing one after them just matched) and their metric rows."""
        if not self.pending:
            return
        plan, v = self.plan, self.plan.variant
        for epoch, (weights, _) in sorted(self.pending.items()):
            if weights is not None:
                meta = _resume.checkpoint_meta(v.spec, v.family.name, v.params.model_dump(), epoch)
                self.store.save_checkpoint(plan.key, epoch, weights, meta)
        rows = {e: row for e, (_, row) in self.pending.items() if row is not None}
        if rows:
            self.store.append_metrics(plan.key, rows)
        self.rows_have |= set(rows)
        self.written += sorted(e for e, (w, _) in self.pending.items() if w is not None)
        self.pending.clear()

    def _note(self) -> None:
        """Add this call to variant.json's `densified` list (its identity and plan fields are left alone)."""
        plan = self.plan
        record = self.store.read_record(plan.key)
        self.store.write_record(plan.key, record.model_copy(update={"densified": [*(record.densified or []), {
            "window": list(plan.window), "every": plan.every, "from_state": plan.start, "replayed_to": plan.stop,
            "epochs": self.written, "threads": torch.get_num_threads()}]}))


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal dtype, shape and bytes (NaN equals NaN, 0.0 differs from -0.0)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return torch.equal(*(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8) for t in (a, b)))
