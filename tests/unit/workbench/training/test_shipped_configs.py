"""Every config shipped in configs/ is a valid training request (variant, recipe, plan)."""

from __future__ import annotations

import pytest

from workbench.training.config import _check, config_names, load_config


def test_configs_are_shipped():
    assert len(config_names()) >= 5


@pytest.mark.parametrize("name", config_names())
def test_shipped_config_is_a_valid_training_request(name):
    config = load_config(name)
    _check(config)  # UserError (one line) if its variant, recipe, epochs or schedule is invalid
    assert config.description, f"configs/{name}.yaml has no description"
