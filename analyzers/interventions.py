"""Interventions across training: each a hook-level edit with a declared scope, scored per checkpoint.

At every checkpoint the model runs once per edit over the probe (analyzers._intervene), and
the artifact holds each edit's train/test loss and accuracy at the answer position; the first
edit, "none", is the unedited model. The edits (options, all optional):

- ablate each attention head in turn (`ablate_heads`: ["L.H", ...] or head indices of a
  1-layer model; default every head), zero or its mean over the probe (`ablate_mode`:
  "mean", the default, or "zero");
- ablate a set of neurons of the neuron layer (`ablate_neurons`: indices; default none);
- keep only / remove the key frequencies (`key_freqs`, as restricted_loss reads it; default
  the run's, fixed at the final checkpoint) in W_E, in the neurons at the answer position,
  and in the logits;
- patch the answer position's activation of `patch_hook` (default the neuron layer) from
  another checkpoint of the same run (`patch_from`: its epoch; default the final one).

A family without attention has no head edits; one without an embedding hook, or whose model
embeds its operands together (capability `joint_embed`), has no W_E edit; families that are not modular tasks on the full grid skip the analyzer (its need).
Options are checked before anything runs (`check_options`): an unknown head, neuron, hook
or frequency is one line.

Version 1.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from analyzers._intervene import (METRICS, Edit, ablate_hook, effect, filter_grid, filter_rows, grid_rows,
                                  replace_at_answer)
from analyzers._keyfreq import neuron_layer
from analyzers._maps import answer_pos, operand_pos
from analyzers.restricted_loss import _keys
from workbench.core.analyzer import register_analyzer

__all__ = ["interventions", "patch_source", "build_edits", "head_list", "check_options", "patch_hook_of", "listed"]

MODES = ("mean", "zero")
EMBED_HOOK = "hook_embed"


def listed(options: Mapping[str, Any], name: str) -> list | None:
    """Option `name` as a list (a single value is a list of one); None when not given."""
    value = options.get(name)
    return None if value is None else [v for v in np.atleast_1d(np.asarray(value, dtype=object)).tolist()]


def head_list(caps: Mapping[str, Any], given=None) -> list[tuple[int, int]]:
    """[(layer, head)] named by `given` ("L.H" or a head index on a 1-layer model), default every head."""
    layers, heads = int(caps.get("n_layers") or 1), int(caps.get("n_heads") or 0)
    if given is None:
        return [(i, h) for i in range(layers) for h in range(heads)]
    out = []
    for item in given:
        text = str(item)
        layer, head = (text.split(".", 1) if "." in text else ("0", text))
        try:
            pair = (int(layer), int(head))
        except ValueError:
            raise ValueError(f"head {text!r} is not LAYER.HEAD or a head index") from None
        if not (0 <= pair[0] < layers and 0 <= pair[1] < heads):
            raise ValueError(f"no head {text!r}: the model has {layers} layer(s) of {heads} head(s)")
        out.append(pair)
    return out


def patch_hook_of(caps: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    """The hook whose answer-position activation is patched (option `patch_hook`, default the last neuron layer)."""
    return str(options.get("patch_hook", caps["neuron_hooks"][-1]))


def check_options(options: Mapping[str, Any], caps: Mapping[str, Any], shapes: Mapping[str, tuple]) -> None:
    """Raise ValueError naming the first option this family's model cannot take (run before any checkpoint)."""
    if options.get("ablate_mode", "mean") not in MODES:
        raise ValueError(f"ablate_mode must be one of {', '.join(MODES)}; got {options['ablate_mode']!r}")
    if options.get("ablate_heads") is not None:
        if not caps.get("attention_hooks"):
            raise ValueError("ablate_heads: this family's model has no attention heads")
        head_list(caps, listed(options, "ablate_heads"))
    d_mlp = min(s[-1] for n, s in shapes.items() if n.endswith("mlp.W_in")) if any(
        n.endswith("mlp.W_in") for n in shapes) else None
    for n in listed(options, "ablate_neurons") or ():
        if d_mlp is None or not str(n).isdigit() or not int(n) < d_mlp:
            raise ValueError(f"no neuron {n}: the neuron layer has {d_mlp or 0} neurons")
    p = int(caps["modular"]["p"])
    for k in listed(options, "key_freqs") or ():
        if not str(k).isdigit() or not 1 <= int(k) <= (p - 1) // 2:
            raise ValueError(f"no frequency {k}: frequencies lie in 1..{(p - 1) // 2} for p={p}")
    if "patch_from" in options and not str(options["patch_from"]).isdigit():
        raise ValueError(f"patch_from must be a checkpoint epoch; got {options['patch_from']!r}")


def _heads(ctx, mode: str) -> list[Edit]:
    if not ctx.family.get("attention_hooks"):
        return []
    edits = []
    for layer, head in head_list(ctx.family, listed(ctx.options, "ablate_heads")):
        name = f"head {layer}.{head}" if int(ctx.family.get("n_layers") or 1) > 1 else f"head {head}"
        edits.append(Edit(f"{name} {mode}-ablated", "head",
                          [(f"blocks.{layer}.attn.hook_z", ablate_hook([head], mode, -2))]))
    return edits


def _neurons(ctx, mode: str, layer: str) -> list[Edit]:
    chosen = [int(n) for n in listed(ctx.options, "ablate_neurons") or ()]
    if not chosen:
        return []
    return [Edit(f"{len(chosen)} neurons {mode}-ablated", "neurons", [(layer, ablate_hook(chosen, mode, -1))])]


def _embed_edits(ctx, keys: np.ndarray, basis: np.ndarray) -> list[Edit]:
    """Keep-only / remove the key frequencies in W_E, at the operand positions."""
    if EMBED_HOOK not in getattr(ctx.model, "hook_dict", {}) or "embed.W_E" not in ctx.weights:
        return []
    if ctx.family.get("joint_embed"):  # no per-operand row to replace (e.g. least_action's routed_study network)
        return []
    p, ops = ctx.p, operand_pos(ctx.family)
    w_e = np.asarray(ctx.weights["embed.W_E"], dtype=np.float32)
    edits = []
    for keep in (True, False):
        table = w_e.copy()
        table[:p] = filter_rows(w_e[:p], basis, keys, keep)
        values = table[ctx.probe[:, list(ops)]]  # [batch, operand, d_model]

        def fn(act, hook=None, values=values):
            act = act.clone()
            act[:, list(ops)] = torch_like(values, act)
            return act

        edits.append(Edit(f"W_E {'keep only' if keep else 'remove'} key", "W_E", [(EMBED_HOOK, fn)]))
    return edits


def torch_like(values: np.ndarray, act: torch.Tensor) -> torch.Tensor:
    """`values` as a tensor of `act`'s dtype and device."""
    return torch.as_tensor(values).to(dtype=act.dtype, device=act.device)


def _grid_edits(ctx, keys: np.ndarray, basis: np.ndarray, layer: str) -> list[Edit]:
    """Keep-only / remove the key frequencies in the neurons (answer position) and in the logits."""
    rows, q = grid_rows(ctx), answer_pos(ctx.family)
    edits = []
    for keep in (True, False):
        word = "keep only" if keep else "remove"

        def neurons(act, hook=None, keep=keep):
            act = act.clone()
            act[:, q] = torch_like(filter_grid(act[:, q].float().cpu().numpy(), rows, basis, keys, keep), act)
            return act

        edits.append(Edit(f"neurons {word} key", "neurons", [(layer, neurons)]))
        edits.append(Edit(f"logits {word} key", "logits",
                          logits=lambda lg, keep=keep: filter_grid(lg.astype(np.float64), rows, basis, keys, keep)))
    return edits


def build_edits(ctx) -> tuple[list[Edit], np.ndarray]:
    """(the edits in artifact order, the key frequencies they use)."""
    check_options(ctx.options, ctx.family, {n: np.shape(w) for n, w in ctx.weights.items()})
    mode = str(ctx.options.get("ablate_mode", "mean"))
    keys = _keys(ctx)[0]
    layer = neuron_layer(ctx)
    basis = np.asarray(ctx.family["fourier_basis"], dtype=np.float64)
    edits = [Edit("none", "none"), *_heads(ctx, mode), *_neurons(ctx, mode, layer),
             *_embed_edits(ctx, keys, basis), *_grid_edits(ctx, keys, basis, layer)]
    source = ctx.reference("patch_source")
    hook = str(source["hook"])
    edits.append(Edit(f"{hook} patched from epoch {int(source['epoch'])}", "patch",
                      [(hook, replace_at_answer(ctx, source["activation"]))]))
    return edits, keys


@register_analyzer("interventions", kind="output", version=1, reference=("key_frequencies", "patch_source"),
                   needs=("modular", "neuron_hooks"), check=check_options,
                   outputs={"edit_names": ("edit",), "edit_scopes": ("edit",), "key_freqs": ("key",),
                            **{m: ("edit",) for m in METRICS}},
                   kinds={"key_freqs": "freq", "edit_names": "label", "edit_scopes": "label"})
def interventions(ctx) -> dict[str, np.ndarray]:
    """Loss and accuracy with a head or neurons ablated, key frequencies kept or removed, or an activation patched."""
    edits, keys = build_edits(ctx)
    scores = [effect(ctx, e) for e in edits]
    return {"edit_names": np.array([e.name for e in edits], dtype=np.str_),
            "edit_scopes": np.array([e.scope for e in edits], dtype=np.str_),
            "key_freqs": np.asarray(keys, dtype=np.int64),
            **{m: np.array([s[m] for s in scores], dtype=np.float64) for m in METRICS}}


@register_analyzer("patch_source", kind="activations", version=1, needs=("modular", "neuron_hooks"),
                   reference_only=True, reference_epoch="patch_from",
                   hooks=lambda caps: tuple(caps["neuron_hooks"]),
                   outputs={"activation": ("batch", "unit"), "hook": (), "epoch": ()},
                   kinds={"hook": "label", "epoch": "epoch"})
def patch_source(ctx) -> dict[str, np.ndarray]:
    """The answer position's activation that `interventions` patches into other checkpoints."""
    hook = patch_hook_of(ctx.family, ctx.options)
    if hook not in ctx.cache:
        raise ValueError(f"patch_hook {hook!r} is not one of this family's neuron hooks {list(ctx.family['neuron_hooks'])}")
    return {"activation": np.asarray(ctx.cache[hook][:, answer_pos(ctx.family)], dtype=np.float32),
            "hook": np.array(hook), "epoch": np.array(ctx.epoch, dtype=np.int64)}
