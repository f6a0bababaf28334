"""Sweeps: many runs of one family trained (stacked where they can be) and then analyzed.

- `spec`: a sweep description (inline or YAML), its product and its stackable groups;
- `stacked`: one group trained as one stacked model, then analyzed (`train --seeds` too);
- `backends`: the groups run here one after another, or as Ray tasks.
"""
