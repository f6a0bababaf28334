"""What every command reads from its arguments: the store, the VARIANT, the demo, a family's capabilities."""

from __future__ import annotations

from workbench.core.capabilities import Capabilities
from workbench.core.errors import UserError
from workbench.core.variant import demo_variant, parse_variant
from workbench.store import Store

__all__ = ["store_of", "spec_of", "spec_or_demo", "caps_of"]


def store_of(args) -> Store:
    """The store named by --store; an empty --store is an error, not the current directory."""
    if args.store is not None and not args.store.strip():
        raise UserError("--store '' is empty; give a directory, or leave it out for $WORKBENCH_STORE or ./artifacts")
    return Store(args.store)


def spec_of(args) -> str | None:
    """The VARIANT argument; an empty one is an error, not a request for the demo."""
    if args.variant is not None and not args.variant.strip():
        raise UserError("empty VARIANT ''; give family[:key=value,...], or leave it out for the demo")
    return args.variant


def spec_or_demo(args) -> str:
    """The VARIANT argument, or the embedded demo variant's spec without one."""
    return spec_of(args) or demo_variant()[0]


def caps_of(args) -> Capabilities | None:
    """The capabilities of the VARIANT argument's family, or None without one."""
    spec = spec_of(args)
    if not spec:
        return None
    variant = parse_variant(spec)
    return variant.family.capabilities(variant.params)
