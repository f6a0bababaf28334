"""Training Dynamics Workbench: train, analyze and visualize how small transformers learn.

The public Python API (what the notebooks use) lives in `workbench.api` and is importable
from here: `workbench.train`, `workbench.analyze`, `workbench.list_runs`,
`workbench.list_groups`, `workbench.group_figure`, `workbench.load_variant`. It is imported lazily so that `import workbench` (and the CLI)
stays cheap. The package's layout (core, store, training, analysis, sweep, query, api, ui,
cli, testing) is drawn in docs/architecture.md.
"""

import warnings

from workbench.core.errors import UserError  # what every API call raises for bad input: catch it in a notebook

# TransformerLens imports tqdm.auto, which warns in Jupyter without ipywidgets; the
# workbench's own progress bars are plain tqdm, so that warning says nothing about it
warnings.filterwarnings("ignore", message="IProgress not found")

__all__ = [
    "train", "analyze", "list_runs", "list_groups", "group_figure", "load_variant", "demo_spec", "RunInfo", "VariantHandle",
    "EpochHandle", "Figure", "GroupTable", "UserError", "trace", "Trace", "notebook_figures",
]


def __getattr__(name: str):
    if name in __all__:
        from workbench import api  # lazily: plotly, torch and the trainer load only when the API is used

        return getattr(api, name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
