"""Every registered family's contract, from its declared `tiny` variant (issue 11): a new
family gets these tests without anyone writing them. The checks are the public
`workbench.testing` ones (`check_family`), which a plugin package runs the same way:

- it declares a tiny variant, a description and typed capabilities;
- init is deterministic from the params;
- the training module computes what the analysis (TransformerLens-hooked) model computes;
- `kill -9` mid-run, then re-running, ends bit-identical to an uninterrupted run;
- bad params or recipe fields exit 2 with one line and write nothing;
- the budget and checkpoint schedule mean what they say (epochs, or steps rounded up).
"""

from __future__ import annotations

from workbench.core.family import list_families
from workbench.testing import parametrize_with_checks


@parametrize_with_checks(families=list_families())
def test_family_conforms(plugin, check):
    check(plugin)
