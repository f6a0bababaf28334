"""`workbench tag` and `workbench note`: a run's tags and free-text note (workbench.store.annotations)."""

from __future__ import annotations

from workbench.cli._args import spec_of, store_of
from workbench.core.variant import parse_variant
from workbench.store import RunKey
from workbench.store.annotations import add_tags, remove_tags, set_note

__all__ = ["cmd_tag", "cmd_note"]


def _run(args) -> tuple[RunKey, str]:
    """The RUN argument's key and spec (a malformed spec, or an empty one: UserError)."""
    variant = parse_variant(spec_of(args) or "")
    return RunKey(*variant.key), variant.spec


def cmd_tag(args) -> None:
    key, spec = _run(args)
    store = store_of(args)
    tags = (remove_tags if args.remove else add_tags)(store, key, args.tags)
    print(f"{spec}: tags {', '.join(tags) or 'none'}")


def cmd_note(args) -> None:
    key, spec = _run(args)
    note = set_note(store_of(args), key, args.text)
    print(f"{spec}: " + (f"note {note!r}" if note else "no note"))
