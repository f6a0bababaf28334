"""Capabilities: what a family is (a typed record), and whether a plugin's `needs` are met.

A family declares what it is in `Family.capabilities(params)` as a `Capabilities` (a
frozen pydantic model: a field that is not in the schema is an error); an analyzer or
view declares `needs=(...)`. One need is

- ``KEY``: met when the field is set and truthy (``"attention_hooks"``);
- ``KEY.SUB``: the same for a nested field (``"modular.p"``);
- ``PATH=VALUE``: met when the field at PATH, as text, equals VALUE
  (``"modular.operation=add"``).

`check_need` holds a need against the schema when a plugin registers, so a misspelled
need fails at import instead of quietly never being met. The pipeline, `workbench views`,
the report, the dashboard and the tests all filter with `unmet`, so whatever one of them
skips, the others skip for the same reason. Consumers read the capabilities as a plain
dict (`as_dict`: the fields that are set), which is also what hook functions and
`EpochContext.family` receive.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict

__all__ = ["Capabilities", "Modular", "Routing", "MultiPrime", "CapsLike", "as_caps_dict", "met", "unmet", "reason",
           "check_need"]

_MISSING = object()


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Modular(_Record):
    """A modular task whose probe is the full p x p grid of operand pairs."""

    p: int
    operation: str  # "add" | "subtract" | "multiply" | ...
    operands: tuple[int, int]  # token positions of a and b
    answer: int  # the position whose logits answer


class Routing(_Record):
    """Blocks that mix parallel heads by a learned gate."""

    n_heads: int
    gate_hooks: list[str]  # per block, the hook holding the routing gate [batch, head]


class MultiPrime(_Record):
    """One model over many moduli; the probe holds all p^2 pairs of every prime in `primes`."""

    max_p: int
    primes: list[int]
    groups: list[int]  # per prime: 0 seen, 1 unseen, 2 extrapolation, 3 below the range
    group_names: list[str] = []
    modulus: int  # position of p
    operands: tuple[int, int]  # positions of a and b
    answer: int
    answer_neuron_hook: str


class Capabilities(_Record):
    """What a family is. Unset (None) fields are capabilities it does not have."""

    modular: Modular | None = None
    transformer: bool | None = None
    mlp: bool | None = None
    n_layers: int | None = None
    n_heads: int | None = None
    neuron_hooks: list[str] | None = None  # per layer, the hook holding neuron activations [batch, pos, d_mlp]
    attention_hooks: list[str] | None = None  # per layer, the attention-pattern hook [batch, head, q, k]
    resid_hooks: list[str] | None = None  # residual stream after the embeddings and each component, in order
    final_ln: bool | None = None  # a LayerNorm precedes W_U
    # the model embeds its inputs together (e.g. a one-hot pair @ W_E: hook_embed [batch, 1, d_model]), so
    # hook_embed has no row per token position for an edit of W_E to replace (unset: one row per position)
    joint_embed: bool | None = None
    sequence: bool | None = None  # next-token prediction at every position
    extra_metrics: list[str] | None = None  # columns `Family.extra_metrics` adds to the metrics table
    routing: Routing | None = None
    multi_prime: MultiPrime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set, nested records as dicts: what needs, hooks and analyzers read."""
        return self.model_dump(exclude_none=True)


CapsLike = Union[Capabilities, Mapping[str, Any]]  # typed, or the dict form (tests, hook functions)


def as_caps_dict(caps: CapsLike) -> Mapping[str, Any]:
    return caps.as_dict() if isinstance(caps, Capabilities) else caps


def _lookup(path: str, caps: Mapping[str, Any]) -> Any:
    value: Any = caps
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def met(need: str, caps: CapsLike) -> bool:
    """True if the family capabilities `caps` meet one need (see the module docstring)."""
    path, eq, want = need.partition("=")
    value = _lookup(path, as_caps_dict(caps))
    if value is _MISSING:
        return False
    return str(value) == want if eq else bool(value)


def unmet(needs: Iterable[str], caps: CapsLike) -> list[str]:
    """The needs that `caps` does not meet, in order, without repeats ([] if the plugin applies).

    A need inside one that is already unmet is left out: without ``modular`` there is no
    point also naming ``modular.operation=add``.
    """
    caps = as_caps_dict(caps)
    missing = [n for n in dict.fromkeys(needs) if not met(n, caps)]
    paths = {n.partition("=")[0] for n in missing if "=" not in n}
    return [n for n in missing if not any(n.partition("=")[0].startswith(q + ".") for q in paths)]


def reason(missing: Iterable[str]) -> str:
    """The text a skip names its cause by: 'needs attention_hooks, modular'."""
    return "needs " + ", ".join(missing)


def _record_type(annotation: Any) -> type[BaseModel] | None:
    """The record class inside `X | None`, or None for a plain field."""
    for arg in (get_args(annotation) if get_origin(annotation) is not None else (annotation,)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def check_need(need: str) -> str:
    """`need` if it is well-formed and names a field of the Capabilities schema; ValueError otherwise."""
    path = need.partition("=")[0] if isinstance(need, str) else ""
    if not path or any(not part for part in path.split(".")):
        raise ValueError(f"malformed capability need {need!r}; expected KEY, KEY.SUB or KEY.SUB=VALUE")
    model: type[BaseModel] | None = Capabilities
    for depth, part in enumerate(path.split(".")):
        if model is None or part not in model.model_fields:
            where = ".".join(path.split(".")[:depth]) or "Capabilities"
            fields = ", ".join(model.model_fields) if model is not None else "none (not a record)"
            raise ValueError(f"unknown capability {path!r} in need {need!r}: {where} has no {part!r}; fields: {fields}")
        model = _record_type(model.model_fields[part].annotation)
    return need
