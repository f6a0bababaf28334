"""Training: a run from its recipe, exactly resumable, alone or as a stack of seeds.

- `trainer`: plan a run (`plan_training`), train it or a stack of members, record it;
- `step`: one optimizer step, eager, compiled or captured in a CUDA graph;
- `members`: several runs of one architecture stacked on a leading member axis;
- `resume`: checkpoints, resume files, training states and the optimizer/RNG state in them;
- `densify`: replay training from a kept state to add checkpoints inside a window;
- `config`: named run configs (configs/*.yaml and the store's).
"""
