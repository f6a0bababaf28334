"""Hand-built analyzer contexts, so analyzer functions can be called without training."""

from __future__ import annotations

import numpy as np

from workbench.core.context import EpochContext, SummaryContext
from workbench.core.fourier import fourier_basis


def modular_family(p: int, operands: tuple[int, int] = (0, 1), answer: int = 2, **caps) -> dict:
    """The analysis context of a one-layer modular-addition family (as families/modular_addition.py
    declares it), with operand/answer positions and any capability overridden."""
    return {"modular": {"p": p, "operation": "add", "operands": operands, "answer": answer},
            "transformer": True, "n_layers": 1, "n_heads": 4, "final_ln": False,
            "neuron_hooks": ["blocks.0.mlp.hook_post"], "attention_hooks": ["blocks.0.attn.hook_pattern"],
            "resid_hooks": ["blocks.0.hook_resid_pre", "blocks.0.hook_resid_mid", "blocks.0.hook_resid_post"],
            "p": p, "fourier_basis": fourier_basis(p)} | caps


def random_weights(p: int, seed: int = 0, d_model: int = 16, n_heads: int = 2, d_head: int = 4,
                   d_mlp: int = 32) -> dict[str, np.ndarray]:
    """HookedTransformer-named float32 weights (and zero biases) of a small one-layer model."""
    rng = np.random.default_rng(seed)
    shapes = {
        "embed.W_E": (p + 1, d_model), "pos_embed.W_pos": (3, d_model),
        "blocks.0.attn.W_Q": (n_heads, d_model, d_head), "blocks.0.attn.W_K": (n_heads, d_model, d_head),
        "blocks.0.attn.W_V": (n_heads, d_model, d_head), "blocks.0.attn.W_O": (n_heads, d_head, d_model),
        "blocks.0.mlp.W_in": (d_model, d_mlp), "blocks.0.mlp.W_out": (d_mlp, d_model),
        "unembed.W_U": (d_model, p),
    }
    weights = {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
    weights["blocks.0.mlp.b_in"] = np.zeros(d_mlp, dtype=np.float32)
    weights["unembed.b_U"] = np.zeros(p, dtype=np.float32)
    return weights


def epoch_ctx(weights: dict[str, np.ndarray] | None, p: int, epoch: int = 0, *, cache=None, logits=None,
              options=None, probe=None, reference: dict[str, dict[str, np.ndarray]] | None = None,
              family: dict | None = None) -> EpochContext:
    """A hand-built EpochContext (no model): the probe defaults to the full (a, b, =) grid in
    the family's a*p+b order, labels are (a + b) % p, every other row trains, logits are zero.
    `family` defaults to `modular_family(p)` (the canonical one-layer layout); its operand positions
    say where the labels' a and b are read. `reference` maps an analyzer name to the arrays
    `ctx.reference(name)` returns (its artifact at the run's final checkpoint); other names
    raise KeyError as in the pipeline."""
    if probe is None:
        a, b = np.divmod(np.arange(p * p), p)
        probe = np.stack([a, b, np.full_like(a, p)], axis=1)
    train = np.arange(len(probe)) % 2 == 0
    if logits is None:
        logits = np.zeros((len(probe), probe.shape[1], p), dtype=np.float32)
    fam = modular_family(p) if family is None else family
    i, j = fam["modular"]["operands"]
    ctx = EpochContext(epoch=epoch, model=None, weights=weights or {}, cache=cache or {}, logits=logits,
                       probe=probe, labels=(probe[:, i] + probe[:, j]) % p, train_mask=train, test_mask=~train,
                       family=fam, options=options or {})
    if reference is not None:
        ctx.reference = lambda name: {k: np.asarray(v) for k, v in reference[name].items()}
    return ctx


def summary_ctx(epochs, artifacts: dict[str, dict[str, np.ndarray]], metrics: dict | None = None,
                p: int = 17) -> SummaryContext:
    """A SummaryContext whose `artifacts(name)` returns the given stacked arrays."""
    epochs = np.asarray(epochs)
    if metrics is None:
        metrics = {k: np.ones(len(epochs)) for k in ("train_loss", "train_acc", "test_loss", "test_acc")}
        metrics["epoch"] = epochs
    return SummaryContext(epochs=epochs, metrics=metrics, artifacts=lambda name: artifacts[name],
                          family=modular_family(p))


def per_epoch_stack(outputs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Stack per-epoch analyzer outputs the way the pipeline does for summaries."""
    return {k: np.stack([o[k] for o in outputs]) for k in outputs[0]}


def tiny_variant(name: str):
    """A family's declared `tiny` variant (workbench.core.family.Family.tiny); None if it declares none."""
    from workbench.core.family import get_family
    from workbench.core.variant import parse_variant

    tiny = get_family(name).tiny
    return parse_variant(name, tiny["params"], recipe=tiny.get("recipe")) if tiny else None
