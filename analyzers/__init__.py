"""The built-in analyzers: one file each, registered on import (explicitly listed, never crawled).

The workbench loads this package through its `workbench.analyzers` entry point
(pyproject.toml); each module registers with `workbench.core.analyzer.register_analyzer`.
Helpers shared by several analyzers (`_maps`, `_fourier_norms`, `_keyfreq`, ...) live here too.
"""

# weights
from analyzers import embedding_fourier, unembedding_fourier, effective_dim, param_snapshot  # noqa: E402,F401
# activations
from analyzers import key_frequencies, neuron_activations, neuron_freq_clusters, coarseness  # noqa: E402,F401
# attention
from analyzers import attention_patterns, head_freq_specialization  # noqa: E402,F401
# output
from analyzers import loss_accuracy, restricted_loss, fourier_gini, logit_lens, input_trace  # noqa: E402,F401
from analyzers import trace, trace_history  # noqa: E402,F401  (per-input trace, issue 31)
from analyzers import interventions  # noqa: E402,F401  (hook-level edits across training)
from analyzers import amplitude, attention_offsets, stream_accuracy  # noqa: E402,F401  (sequence tasks)
from analyzers import spectral_smoothness, routing, routing_mechanism  # noqa: E402,F401  (least-action study)
from analyzers import prime_sweep, prime_fourier, modular_sum_signal, neuron_adaptation  # noqa: E402,F401  (multi-prime)
# cross-epoch (summary) analyzers
from analyzers import param_pca, dimensionality_trajectory, weight_trajectory, turn  # noqa: E402,F401
from analyzers import specialization_trajectory, loss_decomposition, training_dynamics  # noqa: E402,F401
from analyzers import smoothness_trajectory, routing_trajectory  # noqa: E402,F401  (least-action study)
from analyzers import streams_trajectory  # noqa: E402,F401  (sequence tasks)
from analyzers import intervention_trajectory  # noqa: E402,F401  (interventions over training)
from analyzers import prime_regressions, study_snr, adaptation_overlap  # noqa: E402,F401  (multi-prime)
# group-scope analyzers (several runs at once)
from analyzers import group_trajectories  # noqa: E402,F401
