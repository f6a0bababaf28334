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
with `yaml.safe_load`, which builds no Python objects.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from workbench.core.errors import UserError
from workbench.core.schedule import parse_schedule
from workbench.core.variant import parse_variant
from workbench.store.index import connect, writing

if TYPE_CHECKING:
    from workbench.store import Store

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}", re.ASCII)  # a config name: a word, no path

__all__ = ["RunConfig", "load_config", "config_names", "CONFIG_DIR", "parse_sets", "save_config", "stored_configs",
           "read_mapping"]

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


class RunConfig(BaseModel):
    """One config file's content."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    variant: str
    recipe: dict[str, Any] = {}
    epochs: int | None = None
    schedule: str | None = None
    eval_every: int | None = None
    description: str = ""
    name: str = ""  # the NAME or file it was read from (set by load_config)


def config_names() -> list[str]:
    """The named configs shipped in `configs/`."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")) if CONFIG_DIR.is_dir() else []


def _path(name_or_file: str) -> Path | None:
    """The config's file: a .yaml path, or configs/NAME.yaml; None for a NAME with no file."""
    path = Path(name_or_file)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise UserError(f"config file {name_or_file!r} does not exist")
        return path
    if "/" in name_or_file or not name_or_file.strip():
        raise UserError(f"config {name_or_file!r} is neither a .yaml file nor a config name")
    named = CONFIG_DIR / f"{name_or_file}.yaml"
    return named if named.is_file() else None


def load_config(name_or_file: str, store: Store | None = None) -> RunConfig:
    """Read a config by file, repository name or (with `store`) a name saved in the store's
    index; UserError (one line) for anything malformed or unknown."""
    path = _path(name_or_file)
    if path is None:
        saved = stored_configs(store) if store is not None else {}
        if name_or_file in saved:
            return saved[name_or_file]
        raise UserError(f"unknown config {name_or_file!r}; named configs: "
                        f"{', '.join(config_names() + sorted(saved)) or 'none'}")
    return _validated(read_mapping(path, "config"), name_or_file, str(path))


def read_mapping(path: Path, what: str) -> dict:
    """A YAML file's top-level mapping (`yaml.safe_load`: no Python objects); UserError (one
    line, naming `what` and the file) if it is unreadable or not a mapping."""
    import yaml

    try:
        doc = yaml.safe_load(Path(path).read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UserError(f"{what} {str(path)!r} is not readable YAML: {' '.join(str(err).split())[:200]}") from None
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
def stored_configs(store: Store) -> dict[str, RunConfig]:
    """The configs saved in the store's run index ({} when it has none or no index yet)."""
    from contextlib import closing


    if not store.has_index():
        return {}
    with closing(connect(store)) as conn:
        rows = conn.execute("SELECT name, body FROM configs ORDER BY name").fetchall()
    return {r["name"]: _validated(json.loads(r["body"]), r["name"], f"{store.index_path()}:{r['name']}")
            for r in rows}


def save_config(store: Store, name: str, config: RunConfig, replace: bool = False) -> None:
    """Save `config` under `name` in the store's index, after checking it as `train` would.

    Raises:
        UserError for a malformed name, a repository config's name, a name already saved
        (unless `replace`), or a config whose variant, recipe, epochs or schedule is invalid.
    """
    from contextlib import closing


    if not _NAME.fullmatch(name) or name.endswith((".yaml", ".yml")):
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
    """UserError unless `config` would make a valid training request."""
    parse_variant(config.variant, recipe=config.recipe)
    for field in ("epochs", "eval_every"):
        value = getattr(config, field)
        if value is not None and value <= 0:
            raise UserError(f"--{field.replace('_', '-')} must be positive, got {value}")
    if config.schedule is not None:
        parse_schedule(config.schedule)


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
