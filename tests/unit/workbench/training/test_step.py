"""The training step and its runners (workbench.training.step): eager, compiled and graph-replayed."""

from __future__ import annotations

import pytest
import torch

from workbench.core.errors import UserError
from workbench.core.recipe import lr_at
from workbench.core.variant import parse_variant
from workbench.training import step as _step
from workbench.training.step import EagerStep, GraphStep, make_stepper, resolve_step_mode, train_step
from workbench.training.trainer import run_epochs, setup

TINY = "modular_addition:p=17,frac_train=0.5"


def _train(spec: str, epochs: int, stepper_for):
    v = parse_variant(spec)
    members, opt, _ = setup([v], v.recipe, "cpu")
    run_epochs(members, opt, v.recipe, 0, epochs, lambda e: None, stepper_for(members, opt, v.recipe))
    return members, opt


def test_step_modes_resolve_per_device():
    assert resolve_step_mode("auto", "cpu") == "eager"
    assert resolve_step_mode("auto", "cuda:0") == "eager"  # graph is opt-in until measured on a GPU
    assert resolve_step_mode("compile", "cpu") == "compile"
    with pytest.raises(UserError, match="needs --device cuda"):
        resolve_step_mode("graph", "cpu")
    with pytest.raises(UserError, match="unknown step mode"):
        resolve_step_mode("jit", "cpu")


def test_auto_falls_back_to_eager_where_a_graph_cannot_replay_the_step():
    v = parse_variant(TINY + ",r.optimizer=sgd")
    assert resolve_step_mode("auto", "cuda", v.family, v.recipe) == "eager"
    with pytest.raises(UserError, match="no capturable form"):
        resolve_step_mode("graph", "cuda", v.family, v.recipe)

    class Sampling(type(v.family)):
        def objective(self, logits, labels, generator):
            return super().objective(logits, labels, generator)

    assert resolve_step_mode("auto", "cuda", Sampling(), parse_variant(TINY).recipe) == "eager"


class _ReplayedGraph:
    """A stand-in for a CUDA graph on the CPU: capture warms up like the real one (mutating
    the state, which GraphStep must put back), replay re-runs the captured Python step."""

    captures = 0

    def capture(self, fn, warmup, opt):
        for _ in range(warmup):
            fn()
        opt.zero_grad(set_to_none=True)
        self.fn = fn
        _ReplayedGraph.captures += 1

    def replay(self):
        self.fn()


class _EagerTensorLr(EagerStep):
    """The eager step with the learning rate in a tensor, as a graph needs it. AdamW's
    arithmetic with a tensor lr differs from a float lr in the last bits, so this, not
    EagerStep, is what a replayed graph must match exactly."""

    def __init__(self, members, opt, recipe):
        super().__init__(members, opt, recipe)
        for group in opt.param_groups:
            group["lr"] = torch.tensor(0.0)

    def __call__(self, inputs, labels, step):
        for group in self.opt.param_groups:
            group["lr"].fill_(lr_at(self.recipe, step))
        self.seed(step)
        train_step(self.members, self.opt, self.recipe, inputs, labels, self.gen)


@pytest.mark.parametrize("spec", [TINY, TINY + ",r.batch_size=50,r.grad_clip=1.0,r.lr_schedule=warmup,r.warmup_steps=7"])
def test_graph_step_plumbing_equals_the_eager_step_bit_for_bit(monkeypatch, spec):
    """Warm-up undone exactly, lr refilled in its tensor each step, static buffers refilled per
    minibatch (72 rows in batches of 50: two shapes, two captures): anything but exact
    equality with the same step run eagerly is a plumbing bug."""
    monkeypatch.setattr(_step, "_check_graphable", lambda *a: None)  # torch allows capturable only on accelerators
    _ReplayedGraph.captures = 0
    eager, _ = _train(spec, 12, _EagerTensorLr)
    graphed, opt = _train(spec, 12, lambda m, o, r: GraphStep(m, o, r, graph_factory=_ReplayedGraph))
    assert _ReplayedGraph.captures == (2 if "batch_size" in spec else 1)
    assert all(torch.is_tensor(g["lr"]) for g in opt.param_groups)
    a, b = eager.hooked_state(0), graphed.hooked_state(0)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_graph_step_resumes_mid_run_from_saved_optimizer_state(monkeypatch):
    """Capture after a resume (optimizer state present) restores that state, not zeros."""
    monkeypatch.setattr(_step, "_check_graphable", lambda *a: None)
    v = parse_variant(TINY)
    straight, _ = _train(TINY, 10, _EagerTensorLr)
    members, opt, _ = setup([v], v.recipe, "cpu")
    run_epochs(members, opt, v.recipe, 0, 4, lambda e: None, _EagerTensorLr(members, opt, v.recipe))
    run_epochs(members, opt, v.recipe, 4, 10, lambda e: None, GraphStep(members, opt, v.recipe, _ReplayedGraph))
    a, b = straight.hooked_state(0), members.hooked_state(0)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_graph_step_refuses_a_non_capturable_optimizer():
    v = parse_variant(TINY)
    members, opt, _ = setup([v], v.recipe, "cpu")  # capturable=False
    with pytest.raises(UserError, match="not built capturable"):
        GraphStep(members, opt, v.recipe, _ReplayedGraph)


def test_compiled_step_equals_the_eager_step_within_float_rounding():
    """torch.compile (inductor, C++ on the CPU) fuses and reorders float sums, so bits differ.

    Measured on the 2-core VM: after 20 full-batch steps every weight matrix is within
    2e-7 relative norm of the eager run's and the loss within 1e-9 relative; the bound
    below is 50x that, and far below what a wrong step would give (one AdamW step moves
    each weight by ~lr = 1e-3, i.e. ~1e-2 relative)."""
    eager, _ = _train(TINY, 20, EagerStep)
    compiled, _ = _train(TINY, 20, lambda m, o, r: make_stepper("compile", m, o, r))
    a, b = eager.hooked_state(0), compiled.hooked_state(0)
    for name in a:
        if a[name].abs().max() > 0:  # biases are frozen zeros
            assert (a[name] - b[name]).norm() / a[name].norm() < 1e-5, name
    ea, eb = eager.evaluate()[0], compiled.evaluate()[0]
    for key in ea:
        assert ea[key] == pytest.approx(eb[key], rel=1e-7), key
