"""interleaved_streams' clamps, the statistics they set and read, and where they act.

Statistics of a residual-like tensor x [..., d_model] over all its tokens:
- `amplitude` A: mean per-token L2 norm (the study's A_activation, lib/metrics.py);
- `sigma2_token`: the study's sigma^2 (lib/metrics.py `compute_variance`): the square of the
  mean over tokens of each token's unbiased std across its d features;
- `centered_variance`: this family's sigma^2 since issue 14: the mean square of x minus its
  per-dimension mean over tokens (what the mean-preserving clamp sets, as a std).
The two sigma^2 differ: tokens that are each a constant vector have sigma2_token 0 but a
positive centered variance whenever the constants differ.

Clamp sites (`clamp_site`, the block from `clamp_layer`, default the last; the default site is
final_ln_out for a clamp on the constrained model, resid_post for issue 14's clamps):
- ``resid_post``: blocks.{L}.hook_resid_post (the family's original site);
- ``attn_out`` / ``mlp_out``: the block's attention / MLP output before its residual add;
- ``final_ln_out``: ln_final.hook_normalized, the final LayerNorm's output before the
  unembedding (the study's site, "so layernorm doesn't undo the clamp").

A naive clamp multiplies its site by one positive scalar. Where that site feeds only a
LayerNorm with nothing added on the way (the last block's resid_post feeds ln_final, in
both architectures), the LayerNorm divides the scalar out and the clamp cannot change the
output: `inert_reason` names that case, and new runs refuse it. At final_ln_out a naive
clamp is a softmax temperature: it changes the loss, and an argmax only through b_U.
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["amplitude", "sigma2_token", "centered_variance", "naive_clamp", "mean_clamp", "clamp_fn", "site_name",
           "clamped_layer", "inert_reason", "probe_metrics", "SITES"]

SITES = ("resid_post", "attn_out", "mlp_out", "final_ln_out")


def amplitude(resid: torch.Tensor) -> torch.Tensor:
    """A: mean over tokens of the per-token L2 norm; resid [..., d_model] -> scalar."""
    return resid.norm(dim=-1).mean()


def sigma2_token(resid: torch.Tensor) -> torch.Tensor:
    """The study's sigma^2: (mean over tokens of the per-token unbiased std across features)^2."""
    return resid.reshape(-1, resid.shape[-1]).std(dim=-1).mean().pow(2)


def centered_variance(resid: torch.Tensor) -> torch.Tensor:
    """This family's sigma^2: mean square of the residual minus its per-dimension mean over tokens."""
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


def clamped_layer(params) -> int:
    """The block of a block site (default: the last)."""
    return params.n_layers - 1 if params.clamp_layer is None else params.clamp_layer


def site_name(params) -> str:
    """The hook name of `params`' clamp site (resid_post of the clamped layer when none is set)."""
    site = params.site
    if site == "final_ln_out":
        return "ln_final.hook_normalized"
    return f"blocks.{clamped_layer(params)}.hook_{site}"


def clamp_fn(params) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """x -> clamped x for a clamped condition, else None."""
    if params.clamp_kind == "naive":
        return lambda r: naive_clamp(r, params.calib_norm)
    if params.clamp_kind == "mean":
        return lambda r: mean_clamp(r, params.calib_std)
    return None


def inert_reason(params) -> str | None:
    """Why `params`' clamp provably cannot change the output, or None if it can act."""
    last = clamped_layer(params) == params.n_layers - 1
    if params.clamp_kind == "naive" and params.site == "resid_post" and last:
        return ("a naive clamp at the last block's resid_post cannot change the output: ln_final divides out a "
                "common rescaling of its input; use clamp_site=final_ln_out, attn_out or mlp_out")
    return None


@torch.no_grad()
def probe_metrics(module, tokens: torch.Tensor, targets: torch.Tensor,
                  predictable: torch.Tensor) -> dict[str, float]:
    """Accuracies and statistics of `module` over one batch (targets: every position's next token).

    acc_all: every position; acc_pred: the predictable positions; last_acc: the last position
    (the study's psi, lib/metrics.py `compute_psi_accuracy`); acc_a/acc_b: predictable
    positions per stream. amplitude/sigma2 (issue 14's, kept for old runs): A and centered
    variance at the clamped layer's resid_post after any clamp. A_site/s2tok_site: A and the
    study's sigma^2 at the clamp site before the clamp; A_final/s2tok_final at ln_final's
    output before any clamp (comparable across conditions); A_study/s2tok_study at the last resid_post (the study's logged site)."""
    module.capture = True
    try:
        ok = module(tokens).argmax(-1) == targets
        cap = dict(module.captured)
    finally:
        module.capture, module.captured = False, {}
    stream = torch.arange(1, targets.shape[1] + 1, device=targets.device) % 2  # stream of the predicted token
    acc = lambda sel: float(ok[sel].float().mean()) if bool(sel.any()) else float("nan")  # noqa: E731
    last_layer = f"blocks.{clamped_layer(module.params)}.hook_resid_post"
    site = cap.get("pre_clamp", cap[module.site])
    final = site if module.site == "ln_final.hook_normalized" else cap["ln_final.hook_normalized"]
    study = cap[f"blocks.{module.params.n_layers - 1}.hook_resid_post"]
    return {"acc_all": float(ok.float().mean()), "acc_pred": acc(predictable), "last_acc": float(ok[:, -1].float().mean()),
            "acc_a": acc(predictable & (stream == 0)), "acc_b": acc(predictable & (stream == 1)),
            "amplitude": float(amplitude(cap[last_layer])), "sigma2": float(centered_variance(cap[last_layer])),
            "A_site": float(amplitude(site)), "s2tok_site": float(sigma2_token(site)),
            "A_final": float(amplitude(final)), "s2tok_final": float(sigma2_token(final)),
            "A_study": float(amplitude(study)), "s2tok_study": float(sigma2_token(study))}
