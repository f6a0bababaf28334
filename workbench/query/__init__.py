"""Questions about what a store holds, answered from the run index and the artifacts.

- `listing`: `workbench list`, the families and one line per run;
- `where`: `--where` clauses and `--sort` over index rows;
- `groups`, `group_listing`: run groups (runs differing only in seed params), `list --group`;
- `stats`: spread over seeds (std, bootstrap interval) and the two-group difference test;
- `views`: a run's figures: which views apply, their arrays, rendered or a placeholder
  naming the command that would make the data.
"""
