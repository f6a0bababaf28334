"""Per-input trace: what the model computes for a few inputs at one checkpoint (issue 31, item 2).

Stacked over checkpoints by `trace_history`, it follows one input (or a small probe) across
training. Rows: `ctx.options["trace_inputs"]` if given, else every probe row when the probe
has at most MAX_ROWS (a named probe, `workbench analyze --probe`), else input_trace's
default 4 train and 4 test pairs. For each row:

- ``correct_logit``, ``rank`` [row, stage]: the logit lens (input_trace.lens_rows, through
  the final LayerNorm where the family has one);
- ``attention`` [row, head, pos]: each head's attention from the answer position (heads of
  every layer, named in ``head_names``; positions named in ``pos_names``);
- ``neuron_contrib`` [row, neuron]: each neuron's direct contribution to the correct logit,
  act[n] * (W_out[n] . W_U[:, label]) of the neuron layer the neuron analyzers read
  (analyzers._keyfreq.neuron_layer); with a final LayerNorm, W_out[n] is centred and scaled
  as that row's final residual is (the LayerNorm is linear once its scale is fixed);
- ``neuron_freq`` [neuron]: the frequency each neuron writes: the dominant Fourier frequency
  (family basis, over the p answers) of its direct logit weights W_out[n] W_U;
- ``key_projection`` [row, stage, key]: the norm of the residual stream's projection on each
  key frequency's unembedding directions, i.e. of the cos/sin k Fourier pair of that
  stage's logit-lens logits (key_freqs: the run's key frequencies, strict rule, final checkpoint).
"""

from __future__ import annotations

import numpy as np

from analyzers._keyfreq import neuron_layer
from analyzers._maps import attention_hooks, neuron_hooks, operand_pos, answer_pos
from analyzers._output import resid_hooks, stage_names
from analyzers.input_trace import default_rows, lens_rows, rows_of
from workbench.core.analyzer import register_analyzer

MAX_ROWS = 64  # a probe this small is traced row by row; a bigger one (the full grid) by default pairs


def _hooks(caps) -> tuple[str, ...]:
    return resid_hooks(caps) + neuron_hooks(caps) + tuple(caps.get("attention_hooks") or ())


def trace_rows(ctx) -> np.ndarray:
    """The probe rows traced (module docstring)."""
    pairs = ctx.options.get("trace_inputs")
    if pairs is not None:
        return rows_of(pairs, ctx.probe, operand_pos(ctx.family))
    if len(ctx.probe) <= MAX_ROWS:
        return np.arange(len(ctx.probe), dtype=np.int64)
    return default_rows(ctx.train_mask)


def attention_from_answer(ctx, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([row, head, pos] attention of every layer's heads from the answer position, [head] names)."""
    hooks = attention_hooks(ctx.family) if ctx.family.get("attention_hooks") else ()
    q = answer_pos(ctx.family)
    if not hooks:
        return np.zeros((len(rows), 0, ctx.probe.shape[1]), np.float32), np.zeros(0, dtype=np.str_)
    pats = [ctx.cache[h][rows][:, :, q, :] for h in hooks]  # each [row, head, pos]
    names = [f"L{layer}H{head}" for layer, pat in enumerate(pats) for head in range(pat.shape[1])]
    return np.concatenate(pats, axis=1).astype(np.float32), np.array(names, dtype=np.str_)


def position_names(ctx) -> np.ndarray:
    """[pos] "a", "b" at the operands, "=" at the answer, "pos i" elsewhere."""
    names = {**{i: n for i, n in zip(operand_pos(ctx.family), "ab")}, answer_pos(ctx.family): "="}
    return np.array([names.get(i, f"pos {i}") for i in range(ctx.probe.shape[1])], dtype=np.str_)


def neuron_logit_weights(ctx, hook: str) -> np.ndarray:
    """[neuron, class] W_out W_U of the MLP whose neurons `hook` holds."""
    w_out = np.asarray(ctx.weights[hook.rsplit(".", 1)[0] + ".W_out"], dtype=np.float32)  # [d_mlp, d_model]
    return w_out @ np.asarray(ctx.weights["unembed.W_U"], dtype=np.float32)


def neuron_contributions(ctx, hook: str, rows: np.ndarray) -> np.ndarray:
    """[row, neuron] each neuron's direct contribution to each row's correct logit (module docstring)."""
    act = ctx.cache[hook][rows][:, answer_pos(ctx.family), :].astype(np.float32)  # [row, d_mlp]
    w_out = np.asarray(ctx.weights[hook.rsplit(".", 1)[0] + ".W_out"], dtype=np.float32)
    w_u = np.asarray(ctx.weights["unembed.W_U"], dtype=np.float32)[:, ctx.labels[rows]].T  # [row, d_model]
    if not ctx.family.get("final_ln"):
        return act * (w_u @ w_out.T)  # [row, d_mlp]
    final = ctx.cache[resid_hooks(ctx.family)[-1]][rows][:, answer_pos(ctx.family), :]  # [row, d_model]
    centred = final - final.mean(axis=-1, keepdims=True)
    eps = float(getattr(getattr(ctx.model, "cfg", None), "eps", 1e-5))
    scale = np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)  # [row, 1]
    w_dir = (w_out - w_out.mean(axis=-1, keepdims=True)) * np.asarray(ctx.weights["ln_final.w"], dtype=np.float32)
    return act * ((w_u / scale) @ w_dir.T)


def freq_norms(values: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """[..., p] -> [..., (p-1)//2] norm of each frequency's (cos k, sin k) Fourier pair."""
    coef = values[..., : basis.shape[0]] @ basis.T  # [..., p]: const, cos 1, sin 1, ...
    return np.sqrt(coef[..., 1::2] ** 2 + coef[..., 2::2] ** 2)


@register_analyzer("trace", kind="output", hooks=_hooks, needs=("modular", "resid_hooks", "neuron_hooks"),
                   reference=("key_frequencies",), rows=True,
                   outputs={"inputs": ("row", "operand"), "is_train": ("row",), "labels": ("row",),
                            "stages": ("stage",), "correct_logit": ("row", "stage"), "rank": ("row", "stage"),
                            "head_names": ("head",), "pos_names": ("pos",), "attention": ("row", "head", "pos"),
                            "layer": (), "neuron_contrib": ("row", "neuron"), "neuron_freq": ("neuron",),
                            "key_freqs": ("key",), "key_projection": ("row", "stage", "key")},
                   kinds={"inputs": "int", "is_train": "bool", "labels": "int", "stages": "label", "rank": "int",
                          "head_names": "label", "pos_names": "label", "layer": "label", "neuron_freq": "freq",
                          "key_freqs": "freq"})
def trace(ctx) -> dict[str, np.ndarray]:
    """Per traced input: logit lens, attention from the answer, neuron contributions, key-frequency projections."""
    rows = trace_rows(ctx)
    stage_logits, lens = lens_rows(ctx, rows)  # [stage, row, classes]
    attention, heads = attention_from_answer(ctx, rows)
    layer = neuron_layer(ctx)
    basis = np.asarray(ctx.family["fourier_basis"], dtype=np.float32)
    keys = np.asarray(ctx.reference("key_frequencies")["key_freqs"], dtype=np.int64)
    projection = freq_norms(stage_logits, basis)[..., keys - 1].transpose(1, 0, 2)  # [row, stage, key]
    neuron_freq = freq_norms(neuron_logit_weights(ctx, layer), basis).argmax(axis=-1) + 1
    return {"inputs": ctx.probe[rows][:, list(operand_pos(ctx.family))].astype(np.int64),
            "is_train": ctx.train_mask[rows].astype(bool), "labels": ctx.labels[rows].astype(np.int64),
            "stages": stage_names(resid_hooks(ctx.family)), **lens, "head_names": heads,
            "pos_names": position_names(ctx), "attention": attention, "layer": np.array(layer),
            "neuron_contrib": neuron_contributions(ctx, layer, rows).astype(np.float32),
            "neuron_freq": neuron_freq.astype(np.int64), "key_freqs": keys,
            "key_projection": projection.astype(np.float32)}
