"""The base every plugin registry uses (families, analyzers, views), after timm's `_registry`.

A registry is a typed module-level mapping name -> entry with `register`, `list_` and
`get`. A duplicate name is an error; an unknown name is a `UserError` naming the choices.
Reading a registry first loads its plugins (workbench.core.plugins, once per process), so
whoever asks for a family, analyzer or view sees every installed one without importing a
plugin package by name.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterable, TypeVar

from workbench.core import plugins
from workbench.core.errors import UserError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one plugin kind, in registration order, filled from an entry-point group."""

    def __init__(self, kind: str, group: str):
        self.kind = kind
        self.group = group  # the entry-point group whose plugins register here (workbench.core.plugins)
        self._entries: dict[str, T] = {}  # plugin name -> entry

    def _all(self) -> dict[str, T]:
        plugins.load(self.group)
        return self._entries

    def add(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise ValueError(f"duplicate {self.kind} name {name!r}")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T:
        try:
            return self._all()[name]
        except KeyError:
            raise UserError(f"unknown {self.kind} {name!r}; choose from: {', '.join(self._entries)}") from None

    def list_(self, where: Callable[[T], bool] | None = None) -> list[str]:
        return [n for n, e in self._all().items() if where is None or where(e)]

    def registered(self) -> dict[str, T]:
        """The entries registered so far, without loading plugins (for checks while a plugin registers)."""
        return self._entries

    def resolve(self, names: str | Iterable[str]) -> list[str]:
        """'all' or comma-separated names -> validated names, in registry order."""
        if isinstance(names, str):
            if names.strip() == "all":
                return self.list_()
            names = [n.strip() for n in names.split(",") if n.strip()]
        names = list(names)
        if not names:
            raise UserError(f"no {self.kind} named; choose 'all' or from: {', '.join(self._all())}")
        for n in names:
            self.get(n)
        return [n for n in self._entries if n in set(names)]

    def __contains__(self, name: str) -> bool:
        return name in self._all()

    def __len__(self) -> int:
        return len(self._all())
