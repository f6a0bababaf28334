"""Questions about what a store holds, answered from the run index and the artifacts.

- `listing`: `workbench list`, the families and one line per run;
- `where`: `--where` clauses and `--sort` over index rows;
- `views`: a run's figures: which views apply, their arrays, rendered or a placeholder
  naming the command that would make the data.
"""
