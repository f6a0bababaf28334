"""A run's saved training state: what the trainer saves at a checkpoint, and how it is put back.

The resume file holds, at the last checkpoint, the weights and the optimizer state; the
learning rate and the batch order are pure functions of the step (workbench.core.recipe), so
nothing else is needed to continue bit-identically. A run on CUDA also saves the global CPU
and CUDA RNG states (`rng.cpu`, `rng.cuda`) and restores them on resume: training draws
from neither, but a family's module may. A CPU run's files carry no RNG state, as before. It is written last: its presence at
epoch e promises checkpoint e and metrics through e. The same tensors are also kept at
every checkpoint that is a multiple of the run's `state_every` (and at epoch 0) in
`states/`, so that `workbench densify` can replay any stretch of the run.

Before the resume file is replaced, the store keeps the one it replaces as `resume.prev`
(a hard link). Members of a stack checkpoint one after another, so a kill between two of
them leaves them one checkpoint apart; `Store.rewind_resume` puts the ones ahead back
(workbench.training.trainer.rejoin), and the stack resumes together, bit-identical to an
uninterrupted run (a member resumed alone is not). The files themselves are the store's
(workbench.store.Store: `save_checkpoint`, `write_metrics`, `save_state`, `save_resume`).
"""

from __future__ import annotations

import json
import platform

import numpy as np
import torch

from workbench.core.naming import hooked_name
from workbench.store import RunKey, RunRecord, Store

__all__ = ["library_versions", "optimizer_tensors", "load_optimizer", "place_state", "rng_tensors", "restore_rng",
           "save_checkpoint", "checkpoint_meta", "write_variant_json", "load_resume", "load_state"]


def library_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformer_lens": version("transformer-lens"), "numpy": np.__version__}


def optimizer_tensors(opt: torch.optim.Optimizer, names: dict[torch.nn.Parameter, str], k: int | None) -> dict[str, torch.Tensor]:
    """Member k's optimizer state (k None: an unstacked model's); moments slice along the member axis."""
    out = {}
    for param, state in opt.state.items():
        for field, value in state.items():
            out[f"optim.{field}.{names[param]}"] = value if value.ndim == 0 or k is None else value[k]
    return out


def place_state(field: str, value: torch.Tensor, param: torch.Tensor, group: dict) -> torch.Tensor:
    """Where torch's own `Optimizer.load_state_dict` puts a loaded state tensor.

    Adam's scalar `step` stays where it was saved (the CPU) unless the param group is
    `capturable` or `fused`, which need it as a float32 tensor on the parameter's device
    (a captured CUDA graph increments it there); every other field goes to the
    parameter's device and, if floating point, its dtype.
    """
    if field == "step":
        return value.to(dtype=torch.float32, device=param.device) if group.get("capturable") or group.get("fused") else value
    return value.to(dtype=param.dtype, device=param.device) if value.is_floating_point() else value.to(param.device)


def load_optimizer(opt: torch.optim.Optimizer, params: dict[str, torch.nn.Parameter], saved: list[dict],
                   stacked: bool) -> None:
    """Put each member's saved optimizer state back (stacked along the member axis if `stacked`)."""
    group_of = {p: g for g in opt.param_groups for p in g["params"]}
    for name, param in params.items():
        hooked = hooked_name(name)
        fields = {key.split(".", 2)[1] for key in saved[0] if key.startswith("optim.") and key.split(".", 2)[2] == hooked}
        state = {}
        for field in fields:
            values = [s[f"optim.{field}.{hooked}"] for s in saved]
            value = values[0] if values[0].ndim == 0 or not stacked else torch.stack(values)  # scalars are shared
            state[field] = place_state(field, value, param, group_of[param])
        if state:
            opt.state[param] = state


def rng_tensors(device: str) -> dict[str, torch.Tensor]:
    """The global RNG states a run on `device` saves: none on the CPU; on CUDA, the CPU's and the device's."""
    if torch.device(device).type != "cuda":
        return {}
    return {"rng.cpu": torch.get_rng_state(), "rng.cuda": torch.cuda.get_rng_state(device)}


def restore_rng(saved: dict, device: str) -> None:
    """Set the global RNG states that `saved` (resume tensors) holds; a CPU run's hold none."""
    if "rng.cpu" in saved:
        torch.set_rng_state(saved["rng.cpu"].cpu())
    if "rng.cuda" in saved and torch.device(device).type == "cuda":
        torch.cuda.set_rng_state(saved["rng.cuda"].cpu(), device)


def _check_shapes(saved: dict, checkpoint: dict[str, tuple[int, ...]]) -> None:
    """ValueError unless the resume file's weights are its checkpoint's (names and shapes) and
    each optimizer moment has its weight's shape: a wrong one would fail deep inside a step."""
    weights = {k.removeprefix("model."): tuple(v.shape) for k, v in saved.items() if k.startswith("model.")}
    if checkpoint and set(weights) != set(checkpoint):
        name = sorted(set(weights) ^ set(checkpoint))[0]
        raise ValueError(f"weight {name!r} is in only one of it and its checkpoint")
    for name, value in saved.items():
        field = name.split(".", 2)
        if name.startswith("model."):
            want = checkpoint.get(name[6:], weights[name[6:]])
        elif field[0] == "optim" and len(field) == 3 and value.ndim:
            want = weights.get(field[2], tuple(value.shape))
        else:
            continue
        if tuple(value.shape) != tuple(want):
            raise ValueError(f"tensor {name!r} has shape {tuple(value.shape)}, expected {tuple(want)}")


def load_resume(store: Store, key: RunKey, start_epoch: int) -> tuple[dict, dict, dict]:
    """(weights, saved resume tensors, metrics through start_epoch) of a run to continue.

    Raises:
        CorruptFile if the resume file's tensors do not fit the run (`_check_shapes`).
    """
    saved = store.load_resume(key, check=lambda saved: _check_shapes(saved, store.checkpoint_shapes(key, start_epoch)))
    state = {k.removeprefix("model."): v for k, v in saved.items() if k.startswith("model.")}
    old = store.read_metrics(key, keys=("epoch",))
    keep = old["epoch"] <= start_epoch  # drop evaluations past the checkpoint we resume from
    return state, saved, {k: list(v[keep]) for k, v in old.items()}


def load_state(store: Store, key: RunKey, epoch: int) -> tuple[dict, dict]:
    """(weights, saved training-state tensors) of the state kept at `epoch` (see `save_checkpoint`)."""
    saved = store.load_state(key, epoch)
    return {k.removeprefix("model."): v for k, v in saved.items() if k.startswith("model.")}, saved


def checkpoint_meta(spec: str, family: str, params: dict, epoch: int) -> dict[str, str]:
    """The metadata every checkpoint carries: its epoch and config."""
    return {"epoch": str(epoch), "family": family, "variant": spec, "config": json.dumps(params)}


def save_checkpoint(store: Store, key: RunKey, spec: str, family: str, params: dict, epoch: int,
                    weights: dict, optim: dict, metrics: dict, keep_state: bool = False) -> None:
    """Checkpoint `epoch`, the metrics so far, the kept state (if `keep_state`) and (last) the
    resume state, keeping the one it replaces as `resume.prev`.

    `optim` holds the optimizer's tensors (`optimizer_tensors`) and any RNG states (`rng_tensors`).
    """
    meta = checkpoint_meta(spec, family, params, epoch)
    store.save_checkpoint(key, epoch, weights, meta)
    store.write_metrics(key, metrics, last_epoch=epoch)
    state = {**{f"model.{k}": v for k, v in weights.items()}, **optim}
    if keep_state:
        store.save_state(key, epoch, state, meta)
    store.save_resume(key, state, meta)


def write_variant_json(store: Store, key: RunKey, record: dict, prior: RunRecord | None = None) -> None:
    """variant.json: the run's identity and plan (`record`), library versions, and the
    fields of the `prior` record that later work added (what densify added must survive a resume)."""
    store.write_record(key, RunRecord(**record, versions=library_versions()).carrying(prior))
