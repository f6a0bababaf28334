"""One training step (forward, backward, optimizer) and the ways to run it.

`train_step` is the step every path runs. A stepper sets the step's learning rate
(`lr_at`, a pure function of the step), seeds the objective's and the module's generators
from (batch_seed, step) (`workbench.core.train_module.step_seed`), hands the module its
generator (`TrainModule.before_step`), then runs the step:

- ``eager``: the step as Python calls it; the default on the CPU, and how every run
  before issue 15 trained (its arithmetic is unchanged).
- ``compile``: the loss (forward + objective) through `torch.compile`, inductor kernels
  on the CPU and ``mode="reduce-overhead"`` (CUDA graphs) on CUDA; the backward runs
  through AOTAutograd's compiled graph and the optimizer eagerly.
- ``graph``: CUDA only. The whole step is captured once into one CUDA graph and
  replayed, with a capturable Adam(W) whose learning rate lives in a device tensor
  (`GraphStep`). Nothing in a step waits for the host.
- ``auto``: ``eager`` for now, on every device. ``graph`` is built for CUDA but has
  never run on a GPU (no session had one; bench/RESULTS.md), so it is opt-in until it
  has been measured there; compiling did not pay on the CPU.

Compiled and graphed steps compute the same function as the eager one up to float
rounding (fused kernels sum in another order), so each is deterministic on its own but
a run is bit-identical only to runs stepped the same way.
"""

from __future__ import annotations

from typing import Callable

import torch

from workbench.core.errors import UserError
from workbench.core.family import Family
from workbench.core.recipe import Recipe, lr_at
from workbench.core.train_module import MODULE_STREAM, OBJECTIVE_STREAM, TrainModule, step_seed

__all__ = ["STEP_MODES", "resolve_step_mode", "graph_obstacle", "train_step", "make_stepper", "EagerStep",
           "CompiledStep", "GraphStep"]

STEP_MODES = ("auto", "eager", "compile", "graph")
WARMUP_STEPS = 3  # eager steps on a side stream before capture, as torch's CUDA-graph docs prescribe


def resolve_step_mode(mode: str, device: str, family=None, recipe: Recipe | None = None) -> str:
    """The step mode `mode` means on `device` for `family` and `recipe`; UserError if impossible.

    auto is eager: the graph path is opt-in until it has run on a GPU (module docstring).
    """
    if mode not in STEP_MODES:
        raise UserError(f"unknown step mode {mode!r}; expected one of {', '.join(STEP_MODES)}")
    cuda = torch.device(device).type == "cuda"
    obstacle = graph_obstacle(family, recipe)
    if mode == "auto":
        return "eager"
    if mode == "graph" and not cuda:
        raise UserError("--step-mode graph captures the step in a CUDA graph; it needs --device cuda")
    if mode == "graph" and obstacle:
        raise UserError(f"--step-mode graph: {obstacle}; use --step-mode compile or eager")
    return mode


def graph_obstacle(family=None, recipe: Recipe | None = None, module: TrainModule | None = None) -> str | None:
    """Why this family's step cannot be replayed from a CUDA graph, or None.

    Only Adam(W) has a capturable form; a family's own objective may sample, and a
    `stochastic` module draws in its training forward (dropout), which a graph would
    replay with the same draws every step.
    """
    if recipe is not None and recipe.optimizer not in ("adam", "adamw"):
        return f"optimizer {recipe.optimizer} has no capturable form (adam and adamw do)"
    if family is not None and type(family).objective is not Family.objective:
        return f"family {family.name!r} has its own objective, which may draw random numbers"
    if module is not None and module.stochastic:
        return f"the {type(module).__name__} module draws random numbers in its training forward (e.g. dropout)"
    return None


def train_step(members, opt: torch.optim.Optimizer, recipe: Recipe, inputs: torch.Tensor, labels: torch.Tensor,
               gen: torch.Generator, loss_fn: Callable | None = None) -> None:
    """Forward, backward, clip, optimizer step, and the module's after-step hook.

    Members' losses are summed, so each member's gradient is its own.
    """
    loss = (loss_fn or members.loss)(inputs, labels, gen)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if recipe.grad_clip is not None:
        members.clip_grad_norm(recipe.grad_clip)
    opt.step()
    members.after_step()


class EagerStep:
    """Runs `train_step` as Python calls it."""

    def __init__(self, members, opt: torch.optim.Optimizer, recipe: Recipe):
        self.members, self.opt, self.recipe = members, opt, recipe
        self.gen = torch.Generator(device=members.device)  # the objective's (sampling objectives only)
        self.module_gen = torch.Generator(device=members.device)  # the module's training forward (dropout)
        self.loss_fn: Callable = members.loss

    def seed(self, step: int) -> None:
        """Seed the step's generators and hand the module its own (TrainModule.before_step)."""
        self.gen.manual_seed(step_seed(self.recipe.batch_seed, step, OBJECTIVE_STREAM))
        self.module_gen.manual_seed(step_seed(self.recipe.batch_seed, step, MODULE_STREAM))
        self.members.before_step(step, self.module_gen)

    def __call__(self, inputs: torch.Tensor, labels: torch.Tensor, step: int) -> None:
        for group in self.opt.param_groups:
            group["lr"] = lr_at(self.recipe, step)
        self.seed(step)
        train_step(self.members, self.opt, self.recipe, inputs, labels, self.gen, self.loss_fn)


class CompiledStep(EagerStep):
    """`train_step` with the loss compiled by `torch.compile` (CUDA graphs on CUDA)."""

    def __init__(self, members, opt: torch.optim.Optimizer, recipe: Recipe):
        super().__init__(members, opt, recipe)
        cuda = torch.device(members.device).type == "cuda"
        self.loss_fn = torch.compile(members.loss, mode="reduce-overhead" if cuda else None)


class GraphStep(EagerStep):
    """`train_step` captured once per batch shape in a CUDA graph, then replayed.

    Capture needs a few eager warm-up steps (they allocate the optimizer state and the
    autograd buffers); the trainer's state is snapshotted before them and put back after,
    so the run continues from exactly where it was. The learning rate is a device tensor
    per param group, refilled before each replay.
    """

    def __init__(self, members, opt: torch.optim.Optimizer, recipe: Recipe, graph_factory: Callable | None = None):
        super().__init__(members, opt, recipe)
        _check_graphable(members, opt, recipe)
        self.graph_factory = graph_factory or _CudaGraph
        self.lrs = [torch.tensor(float(g["lr"]), dtype=torch.float32, device=members.device) for g in opt.param_groups]
        for group, lr in zip(opt.param_groups, self.lrs):
            group["lr"] = lr
        self.graphs: dict[tuple, tuple] = {}  # (inputs shape, labels shape) -> (graph, static inputs, static labels)

    def __call__(self, inputs: torch.Tensor, labels: torch.Tensor, step: int) -> None:
        for lr in self.lrs:
            lr.fill_(lr_at(self.recipe, step))
        self.members.before_step(step, self.module_gen)  # host-side only: a stochastic module is refused
        key = (tuple(inputs.shape), tuple(labels.shape))
        if key not in self.graphs:
            self.graphs[key] = self._capture(inputs, labels)
        graph, static_inputs, static_labels = self.graphs[key]
        if static_inputs is not inputs:  # minibatches: refill the captured input buffers
            static_inputs.copy_(inputs)
            static_labels.copy_(labels)
        graph.replay()

    def _capture(self, inputs: torch.Tensor, labels: torch.Tensor) -> tuple:
        # full batch passes the same training tensors every step: they are the static inputs
        full = inputs is self.members.train_inputs
        static_inputs, static_labels = (inputs, labels) if full else (inputs.clone(), labels.clone())
        saved = snapshot(self.members.module, self.opt)
        graph = self.graph_factory()
        try:
            graph.capture(lambda: train_step(self.members, self.opt, self.recipe, static_inputs, static_labels,
                                             self.gen), WARMUP_STEPS, self.opt)
        finally:
            restore(self.members.module, self.opt, saved)
        return graph, static_inputs, static_labels


def _check_graphable(members, opt: torch.optim.Optimizer, recipe: Recipe) -> None:
    """UserError unless the step can be replayed from a graph (`graph_obstacle`, and an optimizer
    built capturable)."""
    obstacle = graph_obstacle(members.family, recipe, members.module)
    if obstacle is None and not all(g.get("capturable") for g in opt.param_groups):
        obstacle = "the optimizer was not built capturable (trainer.setup(capturable=True))"
    if obstacle:
        raise UserError(f"--step-mode graph: {obstacle}")


class _CudaGraph:
    """torch.cuda.CUDAGraph of one step: warm up on a side stream, then capture (torch's recipe)."""

    def __init__(self):
        self.graph = torch.cuda.CUDAGraph()

    def capture(self, fn: Callable[[], None], warmup: int, opt: torch.optim.Optimizer) -> None:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(warmup):
                fn()
        torch.cuda.current_stream().wait_stream(side)
        opt.zero_grad(set_to_none=True)  # the captured backward allocates (and then overwrites) the grads
        with torch.cuda.graph(self.graph):
            fn()

    def replay(self) -> None:
        self.graph.replay()


def snapshot(module: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[list[torch.Tensor], dict]:
    """Copies of the module's parameters and buffers and of the optimizer state."""
    tensors = [t.detach().clone() for t in (*module.parameters(), *module.buffers())]
    state = {p: {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()} for p, s in opt.state.items()}
    return tensors, state


def restore(module: torch.nn.Module, opt: torch.optim.Optimizer, saved: tuple[list[torch.Tensor], dict]) -> None:
    """Put a `snapshot` back in place (same tensors, so a captured graph still sees them).

    Optimizer state created since the snapshot is zeroed: a fresh Adam state is step 0
    and zero moments, and SGD's first momentum step equals one from a zero buffer.
    """
    tensors, state = saved
    with torch.no_grad():
        for live, copy in zip((*module.parameters(), *module.buffers()), tensors):
            live.copy_(copy)
        for param, live_state in opt.state.items():
            for k, v in live_state.items():
                if torch.is_tensor(v):
                    v.copy_(state[param][k]) if param in state else v.zero_()


def make_stepper(mode: str, members, opt: torch.optim.Optimizer, recipe: Recipe) -> EagerStep:
    """The stepper for a resolved step `mode` (see `resolve_step_mode`)."""
    return {"eager": EagerStep, "compile": CompiledStep, "graph": GraphStep}[mode](members, opt, recipe)
