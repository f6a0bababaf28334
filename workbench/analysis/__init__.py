"""Analysis: every selected analyzer over every checkpoint of a trained run.

- `pipeline`: `analyze` (which analyzers apply, the run's analyze lock, summaries, markers);
- `checkpoint`: one checkpoint's work (load once, one forward pass, each due analyzer, its artifact);
- `parallel`: the same per-checkpoint work in worker processes (`--jobs N`);
- `nulls`: each declared null (chance level), once per run;
- `group`: `analyze_group`, group-scope analyzers over several runs at once.
"""
