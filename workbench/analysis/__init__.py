"""Analysis: every selected analyzer over every checkpoint of a trained run.

- `pipeline`: `analyze` (which analyzers apply, the run's analyze lock, summaries, markers);
- `checkpoint`: one checkpoint's work (load once, one forward pass, each due analyzer, its artifact);
- `parallel`: the same per-checkpoint work in worker processes (`--jobs N`).
"""
