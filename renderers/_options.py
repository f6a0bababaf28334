"""The view options the built-in renderers share: one declaration each (workbench.core.view.ViewOption).

A view lists the ones its renderer takes (`register_view(options=...)`); the CLI's
`render --NAME`, the dashboard's controls, its URL state and which panels an option
re-renders follow from these records.
"""

from __future__ import annotations

from workbench.core.view import ViewOption

__all__ = ["NEURON", "HEAD", "TOP_NEURON", "GRID_NEURONS", "GRID_SCALE"]

NEURON = ViewOption("neuron", "Neuron", axis="neuron",
                    help="which MLP neuron the neuron panels show: its index, as the panel titles name it")
HEAD = ViewOption("head", "Head", axis="head",
                  help="which attention head the attention panels show: its index over every layer's heads")
# universal_modular's views take `neuron` as a rank among the analyzer's top neurons, not an index:
# another meaning, so another key (its own control and URL entry), and a label that says so
TOP_NEURON = ViewOption("neuron", "Top neuron (rank)", axis="top", key="top_neuron",
                        help="rank among the most oscillator-like neurons (0 = the highest score); "
                             "the panel titles name that neuron's own index")
GRID_NEURONS = ViewOption("neurons", "Grid neurons", kind="value", default=None,
                          help="neuron indices, as a list or 'i,j,k' (default: the 16 most variable)")
GRID_SCALE = ViewOption("scale", "Grid colour scale", kind="choice", choices=("shared", "neuron"), default="shared",
                        help="shared: one colour scale (compare magnitudes); neuron: each neuron on its own "
                             "(compare shapes)")
