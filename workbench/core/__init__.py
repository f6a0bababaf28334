"""The workbench's contracts: what a plugin implements and what the rest of the workbench relies on.

- `family`: the `Family` base (task data, models, loss, recipe, schedule, capabilities,
  the optional seams) and the family registry; `train_module`: the `TrainModule` contract
  the trainer steps, its no-op base, and the per-step seeds; `capabilities`: the typed
  `Capabilities` a family declares and the `needs` a plugin declares against them;
- `analyzer`: `AnalyzerSpec` and its registry; `context`: the `EpochContext` /
  `SummaryContext` the pipeline hands an analyzer;
- `view`: `ViewSpec` / `Repaint` and the view registry (which views apply to a family);
- `registry`: the registry base; `plugins`: the one place plugins are loaded (entry points);
- `variant`, `recipe`, `schedule`, `naming`: what a run is (family + params + recipe
  overrides), its training recipe, its checkpoint schedule, the parameter-naming rule;
- `fourier`, `modular`: the math shared by families and analyzers;
- `errors`: the exceptions that mean "bad input" or "bad file".

Nothing here imports the rest of the workbench, and nothing here names a plugin package
(except the fallback in `plugins`). A plugin package imports from these modules only.
"""
