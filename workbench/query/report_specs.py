"""Report specs: a report built for one question, as a title, prose and an ordered list of views.

A spec is strict YAML (workbench.core.strict_yaml):

    title: The turn
    prose: |
      What changes when test accuracy turns ...
    variant: modular_addition:p=53        # optional: the run it reads when none is given
    views:
      - view: loss_curves                 # a registered view (`workbench views`)
        prose: Train and test ...         # optional, shown above the figure
      - view: neuron_heatmap
        epoch: turn onset                 # an epoch, or init / end of memorization / end / a marker
        neuron: 5                         # any option the view declares
      - view: interventions
        range: 0:3000                     # a trajectory's x range, in epochs

Per view: `variant` (another run than the report's), `group` (a run group instead of a run:
its spec or label, or a `--where` clause that selects one group, as `workbench group-report`
takes; only curves over training, drawn as the group's mean and 95% band), `epoch` (per-epoch
views; default the last analyzed), `range` (trajectory views), `probe` ("full", the canonical
grid, or a named probe of the run's family: `workbench probe list`) and the view's own options
(neuron, head, ...).

Specs are shipped in the repository's `report_specs/` folder and saved in the store
(`Store.save_report_spec`); a saved one may not take a shipped one's name. Every problem
(YAML, an unknown field or view, an option the view does not take, a bad epoch word) is one
UserError line naming the spec. `layout_spec` writes a spec from a list of views (the
dashboard's "save this layout").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from workbench.core.errors import UserError
from workbench.core.strict_yaml import load_yaml, read_yaml
from workbench.core.view import get_view, list_views
from workbench.store import Store
from workbench.store.markers import marker_label, marker_names

__all__ = ["ReportSpec", "SpecView", "SPEC_DIR", "EPOCH_WORDS", "parse_spec", "load_spec", "spec_names", "save_spec",
           "parse_range", "PROBES", "epoch_word", "epoch_words", "layout_spec", "save_spec_text", "is_full_probe"]

SPEC_DIR = Path(__file__).resolve().parents[2] / "report_specs"
EPOCH_WORDS = ("init", "end of memorization", "end")  # besides epoch markers ("turn onset", ...) and integers
PROBES = ("full", "canonical")  # the family's own probe (the full grid); any other name is a named probe
_PROBE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_FIELDS = {"view", "prose", "variant", "epoch", "range", "probe", "group"}
_RANGE = re.compile(r"\s*(\d+)\s*:\s*(\d+)\s*")


class SpecView(BaseModel):
    """One view of a report spec, with where it reads and its options."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    view: str
    prose: str = ""
    variant: str | None = None
    epoch: int | str | None = None
    range: str | None = None
    probe: str = "full"
    options: dict[str, int | str] = {}

    @field_validator("view")
    @classmethod
    def _known_view(cls, name: str) -> str:
        if name not in list_views():
            raise ValueError(f"unknown view {name!r} (see `workbench views`)")
        return name

    @field_validator("epoch")
    @classmethod
    def _epoch(cls, epoch: int | str | None) -> int | str | None:
        if epoch is None or isinstance(epoch, int) or str(epoch).strip().isdigit():
            return epoch
        word = epoch_word(epoch)
        if word not in epoch_words():
            raise ValueError(f"epoch {epoch!r} is not a number or one of: {', '.join(epoch_words())}")
        return word

    group: str | None = None

    @field_validator("probe")
    @classmethod
    def _probe_name(cls, probe: str) -> str:
        if not _PROBE_NAME.fullmatch(probe) or ".." in probe:
            raise ValueError(f"probe {probe!r} is not 'full' or a probe's name (`workbench probe list`)")
        return probe

    @model_validator(mode="after")
    def _group_draws_curves(self) -> "SpecView":
        if self.group is None:
            return self
        if self.variant is not None:
            raise ValueError(f"{self.view}: a view reads a variant or a group, not both")
        view = get_view(self.view)
        if view.scope != "trajectory" or not view.epoch_x or self.epoch is not None:
            raise ValueError(f"{self.view}: a group draws curves over training only (no epoch)")
        return self

    @field_validator("range")
    @classmethod
    def _range(cls, text: str | None) -> str | None:
        if text is not None:
            parse_range(text)
        return text


class ReportSpec(BaseModel):
    """A report for one question: title, prose, an optional default run, and its views in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    title: str
    prose: str = ""
    variant: str | None = None
    views: list[SpecView]


def epoch_word(text: str) -> str:
    """An epoch word as the report labels epochs: lower case, single spaces ("Turn_Onset" -> "turn onset")."""
    return " ".join(str(text).replace("_", " ").split()).lower()


def epoch_words() -> tuple[str, ...]:
    """The words a spec's `epoch` may be: init, end of memorization, end, and every declared epoch marker."""
    return EPOCH_WORDS + tuple(marker_label(m) for m in marker_names())


def parse_range(text: str) -> tuple[int, int]:
    """'START:STOP' epochs -> (start, stop); ValueError unless START < STOP."""
    m = _RANGE.fullmatch(str(text))
    if not m or int(m.group(1)) >= int(m.group(2)):
        raise ValueError(f"range {text!r} is not START:STOP epochs with START < STOP")
    return int(m.group(1)), int(m.group(2))


def _view_entry(raw: Any, i: int) -> dict:
    """A views item with the view's own options moved under `options` (each checked against the view)."""
    if not isinstance(raw, dict) or "view" not in raw:
        raise ValueError(f"views[{i}] must be a mapping with a 'view'")
    entry = {k: v for k, v in raw.items() if k in _FIELDS}
    extra = {k: v for k, v in raw.items() if k not in _FIELDS}
    if extra and raw["view"] in list_views():
        declared = [o.name for o in get_view(raw["view"]).options]
        unknown = sorted(set(extra) - set(declared))
        if unknown:
            raise ValueError(f"views[{i}] ({raw['view']}): no option {unknown[0]!r}; "
                             f"options: {', '.join(declared) or 'none'}")
    return entry | ({"options": extra} if extra else {})


def parse_spec(text: str, what: str) -> ReportSpec:
    """A report spec from YAML text; UserError naming `what` and the first problem."""
    doc = load_yaml(text, what)
    if not isinstance(doc, dict):
        raise UserError(f"{what} must be a mapping with title and views")
    try:
        views = doc.get("views")
        if not isinstance(views, list) or not views:
            raise ValueError("views must be a non-empty list")
        return ReportSpec(**{**doc, "views": [_view_entry(v, i) for i, v in enumerate(views)]})
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(x) for x in e["loc"]) or "spec"
        raise UserError(f"{what}: {loc}: {e['msg'].removeprefix('Value error, ')}") from None
    except (ValueError, TypeError) as err:
        raise UserError(f"{what}: {err}") from None


def spec_names(store: Store) -> dict[str, str]:
    """Every report spec's name -> where it lives ("shipped" or "store")."""
    shipped = {p.stem: "shipped" for p in sorted(SPEC_DIR.glob("*.yaml"))}
    return shipped | {n: "store" for n in store.report_spec_names() if n not in shipped}


def load_spec(store: Store, name_or_file: str) -> tuple[str, ReportSpec]:
    """(name, spec) of a shipped or saved spec NAME, or of a .yaml FILE; UserError otherwise."""
    if name_or_file.endswith((".yaml", ".yml")):
        path = Path(name_or_file)
        return path.stem, parse_spec(read_yaml_text(path), f"report spec {str(path)!r}")
    where = spec_names(store).get(name_or_file)
    if where is None:
        raise UserError(f"unknown report spec {name_or_file!r}; specs: {', '.join(spec_names(store)) or 'none'}")
    path = SPEC_DIR / f"{name_or_file}.yaml" if where == "shipped" else store.report_spec_path(name_or_file)
    return name_or_file, parse_spec(read_yaml_text(path), f"report spec {name_or_file!r}")


def read_yaml_text(path: Path) -> str:
    """The text of a YAML file, after strict_yaml has read it (bounded size, UTF-8): one line if not."""
    read_yaml(path, "report spec")
    return path.read_text(encoding="utf-8")


def save_spec(store: Store, name: str, file: str) -> Path:
    """Validate the spec in `file` and save it in the store under `name` (not a shipped name)."""
    return save_spec_text(store, name, read_yaml_text(Path(file)), f"report spec {file!r}")


def save_spec_text(store: Store, name: str, text: str, what: str, replace: bool = True) -> Path:
    """Validate spec YAML `text` (problems name `what`) and save it under `name`: not a shipped
    name, nor (unless `replace`) one the store has; UserError otherwise."""
    if name in {p.stem for p in SPEC_DIR.glob("*.yaml")}:
        raise UserError(f"report spec {name!r} is shipped (report_specs/{name}.yaml); choose another name")
    store.report_spec_path(name)  # the name is a valid id (UserError) before anything is parsed
    if not replace and name in store.report_spec_names():
        raise UserError(f"report spec {name!r} exists; choose another name")
    parse_spec(text, what)
    return store.save_report_spec(name, text)


def is_full_probe(probe: str) -> bool:
    """Whether a spec's `probe` is the family's own (the full grid), not a named probe."""
    return probe in PROBES


def layout_spec(title: str, variant: str, views: list[dict], prose: str = "") -> str:
    """The YAML text of a spec: `title`, `prose`, run `variant` (a spec) and `views` in order, each
    {"view": name, ...} with its epoch, probe and options as a spec's views item holds them."""
    doc = {"title": title, **({"prose": prose} if prose else {}), "variant": variant, "views": views}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
