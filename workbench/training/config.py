"""Run configs: a YAML file (or a name in the repository's `configs/`) that names a variant,
recipe overrides and the training plan, so a study's experiments are files, not commands.

    variant: "modular_arithmetic:p=97"        # required: family[:key=value,...]
    recipe: {weight_decay: 1.0, lr_schedule: warmup, warmup_steps: 10}   # Recipe fields
    epochs: 3000                              # optional plan fields
    schedule: "0:3000:100"
    eval_every: 10
    description: "the fixed recipe that groks"

`workbench train --config NAME|FILE [--set FIELD=VALUE ...]`: a NAME is
`configs/NAME.yaml`, else a config saved in the store's run index with `workbench configs
save NAME [VARIANT] [--set FIELD=VALUE ...] [--epochs N] [--schedule S] [--eval-every N]
[--description TEXT]` (checked like a training request when saved; a repository name
cannot be shadowed). `--set` overrides win over the config's recipe, and a VARIANT given on
the command line replaces the config's. The config's name is recorded in variant.json; its
recipe overrides become the run's `r.` identity like any other override. YAML is read
strictly (workbench.core.strict_yaml: no YAML 1.1 booleans, octal or sexagesimal numbers, no
duplicate keys, bounded size and depth), and the plan's numbers are strict ints (`epochs:
true` or `1e3` is refused, not read as 1 or 1000).

A config's schedule is a default, like a family's: `--epochs N` shorter than the config's
budget cuts it at N (epoch 0 and N always saved). A schedule the user passes is taken as
asked, and one past the epochs is refused; `configs save` refuses a schedule past its epochs.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

from workbench.core.errors import UserError
from workbench.core.recipe import total_epochs
from workbench.core.schedule import checkpoint_epochs
from workbench.core.strict_yaml import read_yaml
from workbench.core.variant import parse_variant
from workbench.store.index import connect, writing

if TYPE_CHECKING:
    from workbench.store import Store

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}", re.ASCII)  # a config name: a word, no path

__all__ = ["RunConfig", "load_config", "config_names", "CONFIG_DIR", "parse_sets", "save_config", "stored_configs",
           "read_mapping", "valid_config_name"]

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


class RunConfig(BaseModel):
    """One config file's content."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    variant: str
    recipe: dict[str, Any] = {}
    epochs: StrictInt | None = None  # strict: YAML's `true` or `1e3` is not an epoch count
    schedule: str | None = None
    eval_every: StrictInt | None = None
    description: str = ""
    name: str = ""  # the NAME or file it was read from (set by load_config)


def config_names() -> list[str]:
    """The named configs shipped in `configs/`."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")) if CONFIG_DIR.is_dir() else []


def valid_config_name(name: str) -> bool:
    """Whether `name` is a config name (a word: letters, digits, _ . -), never a path."""
    return isinstance(name, str) and bool(_NAME.fullmatch(name)) and not name.endswith((".yaml", ".yml"))


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long for a path, a NUL byte: not a file
        return False


def _path(name_or_file: str, files: bool) -> Path | None:
    """The config's file: a .yaml path (when `files`), or configs/NAME.yaml; None for a NAME with no file."""
    if not name_or_file.strip():
        raise UserError("config '' is empty; give a config NAME or a .yaml file")
    if files and (name_or_file.endswith((".yaml", ".yml")) or _is_file(name_or_file)):
        if not _is_file(name_or_file):
            raise UserError(f"config file {name_or_file!r} does not exist")
        return Path(name_or_file)
    if not valid_config_name(name_or_file):
        raise UserError(f"config {name_or_file!r} is not a config name (letters, digits, _ . -)"
                        + (" nor a .yaml file" if files else ""))
    named = CONFIG_DIR / f"{name_or_file}.yaml"
    return named if named.is_file() else None


def load_config(name_or_file: str, store: Store | None = None, files: bool = True) -> RunConfig:
    """Read a config by file (unless `files` is False: then only names), repository name or
    (with `store`) a name saved in the store's index; UserError (one line) for anything
    malformed or unknown."""
    path = _path(name_or_file, files)
    if path is None:
        found = _stored_config(store, name_or_file) if store is not None else None
        if found is not None:
            return found
        saved = sorted(stored_configs(store, quiet=True)) if store is not None else []
        raise UserError(f"unknown config {name_or_file!r}; named configs: {', '.join(config_names() + saved) or 'none'}")
    return _validated(read_mapping(path, "config"), name_or_file, str(path))


def read_mapping(path: Path, what: str) -> dict:
    """A YAML file's top-level mapping, read strictly (workbench.core.strict_yaml); UserError
    (one line, naming `what` and the file, never its content) if it is unreadable or not a mapping."""
    doc = read_yaml(path, what)
    if not isinstance(doc, dict):
        raise UserError(f"{what} {str(path)!r} must be a mapping with at least 'variant'")
    return doc


def _validated(doc: dict, name: str, where: str) -> RunConfig:
    try:
        return RunConfig.model_validate({**doc, "name": name})
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(x) for x in e["loc"]) or "config"
        raise UserError(f"config {where!r}: {loc}: {e['msg']}") from None


# ----------------------------------------------------- configs saved in the store
def _body(store: Store, name: str, body: str) -> RunConfig:
    """A saved config's row as a RunConfig; UserError naming it if the row is damaged."""
    where = f"{store.index_path()}:{name}"
    try:
        doc = json.loads(body)
    except (TypeError, ValueError):
        doc = None
    if not isinstance(doc, dict):
        raise UserError(f"config {where!r} is damaged (not a JSON object); save it again with --replace")
    return _validated(doc, name, where)


def _stored_config(store: Store, name: str) -> RunConfig | None:
    """The config saved under `name` in the store's index, None if there is none."""
    from contextlib import closing

    if not store.index_path().is_file():
        return None
    with closing(connect(store)) as conn:
        row = conn.execute("SELECT body FROM configs WHERE name = ?", (name,)).fetchone()
    return _body(store, name, row["body"]) if row is not None else None


def stored_configs(store: Store, quiet: bool = False) -> dict[str, RunConfig]:
    """The configs saved in the store's run index ({} when it has none or no index yet); a
    damaged one is left out with a warning (unless `quiet`), so the others still list."""
    from contextlib import closing

    if not store.has_index():
        return {}
    with closing(connect(store)) as conn:
        rows = conn.execute("SELECT name, body FROM configs ORDER BY name").fetchall()
    out = {}
    for r in rows:
        try:
            out[r["name"]] = _body(store, r["name"], r["body"])
        except UserError as err:
            if not quiet:
                print(f"workbench: warning: {err}", file=sys.stderr)
    return out


def save_config(store: Store, name: str, config: RunConfig, replace: bool = False) -> None:
    """Save `config` under `name` in the store's index, after checking it as `train` would.

    Raises:
        UserError for a malformed name, a repository config's name, a name already saved
        (unless `replace`), or a config whose variant, recipe, epochs or schedule is invalid.
    """
    from contextlib import closing

    if not valid_config_name(name):
        raise UserError(f"invalid config name {name!r}: letters, digits, '_', '.', '-' (at most 64), not a file name")
    if name in config_names():
        raise UserError(f"config {name!r} is a repository config (configs/{name}.yaml); choose another name")
    _check(config)
    store.ensure_writable()
    store.root.mkdir(parents=True, exist_ok=True)
    body = json.dumps(config.model_dump(exclude={"name"}), sort_keys=True)
    with closing(connect(store)) as conn, writing(conn):
        if not replace and conn.execute("SELECT 1 FROM configs WHERE name = ?", (name,)).fetchone():
            raise UserError(f"config {name!r} is already saved in {store.index_path()}; give --replace to overwrite it")
        conn.execute("INSERT OR REPLACE INTO configs (name, body, saved) VALUES (?, ?, ?)", (name, body, time.time()))


def _check(config: RunConfig) -> None:
    """UserError unless `config` would make a valid training request, its schedule inside its epochs."""
    variant = parse_variant(config.variant, recipe=config.recipe)
    for field in ("epochs", "eval_every"):
        value = getattr(config, field)
        if value is not None and value <= 0:
            raise UserError(f"--{field.replace('_', '-')} must be positive, got {value}")
    if config.schedule is not None:
        n_train = int(variant.family.data(variant.params).train_mask.sum())
        epochs = config.epochs or total_epochs(variant.recipe, n_train)  # what `train --config` would train
        checkpoint_epochs(config.schedule, epochs)  # refuses an epoch past them, as `train --schedule` does


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    """`--set FIELD=VALUE` arguments -> {FIELD: VALUE} (strings, typed later by the recipe)."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip().removeprefix("r.")
        if not sep or not key or not value.strip():
            raise UserError(f"--set {pair!r} is not FIELD=VALUE")
        if key in out:
            raise UserError(f"--set gives recipe field {key!r} twice")
        out[key] = value.strip()
    return out
