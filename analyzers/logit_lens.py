"""Direct logit lens: how well the residual stream predicts the answer after each component.

The answer-position residual after the embeddings ("embed"), after adding the attention
output ("+attn") and after adding the MLP output ("+mlp"), per layer in a deeper model
("L0 +attn", ..., analyzers._output.stage_names), is multiplied by W_U (+ b_U). Where the
family has a final LayerNorm it is applied to each stage first, so the last stage
reproduces the model's logits exactly either way. Statistics are over every probe row
(train and test).
"""

from __future__ import annotations

import numpy as np

from analyzers._output import correct_logit, nll, resid_hooks, stage_logits, stage_names
from workbench.core.analyzer import register_analyzer


@register_analyzer("logit_lens", kind="output", hooks=resid_hooks, needs=("modular", "resid_hooks"),
          outputs={"stages": ("stage",), "loss": ("stage",), "accuracy": ("stage",), "correct_logit": ("stage",)}, kinds={'stages': 'label'}, rows=True)
def logit_lens(ctx) -> dict[str, np.ndarray]:
    """Loss, accuracy and mean correct-class logit when unembedding after each component."""
    logits = stage_logits(ctx)  # [stage, batch, p]
    labels = ctx.labels
    correct = correct_logit(logits, labels)  # [stage, row]
    return {"stages": stage_names(resid_hooks(ctx.family)),
            "loss": nll(logits, labels).mean(axis=-1),
            "accuracy": (logits.argmax(axis=-1) == labels[None, :]).mean(axis=-1),
            "correct_logit": correct.mean(axis=-1, dtype=np.float64)}
