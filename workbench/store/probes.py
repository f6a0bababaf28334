"""Named probes in a store: one small JSON file each (`<root>/.probes/<name>.json`).

A probe is a `workbench.core.probes.Probe` (name, family, expression, description); the
store keeps it by name, as it keeps named configs, and the layout (`Layout.probe_path`)
owns the file. Checking an expression against its family is the caller's
(`workbench.analysis.probing.add_probe`); reading one back re-checks only its shape.
"""

from __future__ import annotations

from workbench.core.errors import CorruptFile, MissingFile, UserError
from workbench.core.probes import CANONICAL, Probe
from workbench.store._io import load_json, save_json

__all__ = ["save_probe", "read_probe", "list_probes"]

_KEYS = ("name", "family", "expr")


def save_probe(store, probe: Probe, replace: bool = False) -> None:
    """Write `probe` under its name; UserError if the name is taken (unless `replace`) or reserved."""
    if probe.name == CANONICAL:
        raise UserError(f"probe name {CANONICAL!r} is the family's own probe; choose another name")
    path = store.probe_path(probe.name)
    if path.exists() and not replace:
        raise UserError(f"probe {probe.name!r} is already saved in {path}; give --replace to overwrite it")
    store.ensure_writable()
    save_json(probe.as_dict(), path)


def read_probe(store, name: str) -> Probe:
    """The probe saved under `name`; UserError naming the saved ones when there is none."""
    path = store.probe_path(name)
    try:
        body = load_json(path, expect=dict, keys=_KEYS)
    except MissingFile:
        have = ", ".join(store.probe_names()) or "none yet; add one with `workbench probe add NAME FAMILY EXPR`"
        raise UserError(f"no probe {name!r} in {store.root} (saved: {have})") from None
    if not all(isinstance(body[k], str) for k in _KEYS) or body["name"] != name:
        raise CorruptFile(path, "name, family and expr must be strings, and name the file's")
    return Probe(body["name"], body["family"], body["expr"], str(body.get("description", "")))


def list_probes(store) -> list[Probe]:
    """Every readable probe of the store, by name (a damaged file is left out)."""
    out = []
    for name in store.probe_names():
        try:
            out.append(read_probe(store, name))
        except UserError:
            continue
    return out
