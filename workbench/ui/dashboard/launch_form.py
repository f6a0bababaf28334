"""The Runs page's launch form, per kind: labelled fields instead of six free-text boxes.

Train shows a config dropdown, a family picker, that family's params (each with its type,
default and bounds, read from the family's declared `Params`), the recipe fields (from
`Recipe`, the family's defaults as placeholders), epochs and the checkpoint schedule.
Extend and analyze pick a run from the store; sweep takes a sweep SPEC. The fields fill
the variant spec and recipe boxes the start callback reads (jobs_panel), so a launch is
exactly what `workbench train SPEC --set ...` would run, and is checked as the command
checks it (workbench.ui.jobs.submit) before anything starts, its refusal one line under
the form. The spec box stays editable: a typed spec is used as typed.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from pydantic.fields import FieldInfo

from workbench.core.errors import UserError
from workbench.core.family import get_family, list_families
from workbench.core.recipe import Recipe
from workbench.store import Store
from workbench.training.config import config_names, load_config, stored_configs
from workbench.ui.dashboard import data

__all__ = ["form", "register", "bounds", "choices", "compose_spec", "compose_recipe", "fill", "recipe_defaults", "SHOWN"]

_HUGE = 2 ** 62  # a bound past this (seeds < 2**63) says nothing to a person
SHOWN = {  # job kind -> the field boxes it shows
    "train": ("config", "family", "params", "recipe-fields", "target", "recipe", "epochs", "schedule"),
    "extend": ("run", "target", "extra-epochs"),
    "analyze": ("run", "target", "analyzers"),
    "sweep": ("target", "epochs"),
}
_BOXES = sorted({b for boxes in SHOWN.values() for b in boxes})
_FIELD = {"display": "inline-block", "verticalAlign": "top", "margin": "4px 10px 4px 0"}
_BLOCK = {"display": "block", "margin": "6px 0"}  # the params and recipe groups: rows of their own
_LABEL = {"display": "block", "fontWeight": 600, "fontSize": 12}
_HINT = {"display": "block", "color": "#666", "fontSize": 11, "maxWidth": "230px"}


def bounds(info: FieldInfo) -> str:
    """'1..12', '> 0', '0 < x < 1' from a field's declared constraints ('' for none)."""
    low = next(((">=", m.ge) for m in info.metadata if isinstance(m, Ge)), None) or \
        next(((">", m.gt) for m in info.metadata if isinstance(m, Gt)), None)
    high = next((("<=", m.le) for m in info.metadata if isinstance(m, Le)), None) or \
        next((("<", m.lt) for m in info.metadata if isinstance(m, Lt)), None)
    high = high if high and abs(high[1]) < _HUGE else None  # a seed's 2**63 says nothing to a person
    if low and high:
        if (low[0], high[0]) == (">=", "<="):
            return f"{low[1]:g}..{high[1]:g}"
        return f"{low[1]:g} {'<' if low[0] == '>' else '<='} x {high[0]} {high[1]:g}"
    return " ".join(f"{b[0]} {b[1]:g}" for b in (low, high) if b)


def choices(annotation: Any) -> tuple[str, ...]:
    """The values of a Literal (or Optional Literal) field, else () (a tuple of Literals is typed)."""
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next((choices(a) for a in typing.get_args(annotation) if typing.get_origin(a) is typing.Literal), ())
    return ()


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return "choice" if choices(annotation) else str(annotation).replace("typing.", "").replace("NoneType", "None")


def param_id(family: str, field: str) -> dict:
    """A family param box's id (pattern-matched: only the picked family's boxes are on the page)."""
    return {"type": "jp", "family": family, "field": field}


def _field(fid: str | dict, name: str, info: FieldInfo, default: Any) -> html.Div:
    """One labelled box: a dropdown for a choice, else text with the default as placeholder."""
    options = choices(info.annotation)
    shown = "none" if default is None else str(default)
    if options:
        control = dcc.Dropdown(id=fid, options=list(options), placeholder=shown, clearable=True,
                               style={"width": "180px", "fontSize": 13})
    else:
        control = dcc.Input(id=fid, type="text", placeholder=shown, style={"width": "150px"})
    hint = ", ".join(p for p in (_type_name(info.annotation), bounds(info), f"default {shown}") if p)
    return html.Div(style=_FIELD, title=info.description or "", children=[
        html.Label(name, htmlFor=fid if isinstance(fid, str) else None, style=_LABEL), control,
        html.Span(hint, style=_HINT)])


def family_fields(name: str) -> html.Div:
    """The picked family's param boxes (a callback swaps them when another family is picked), not
    every family's boxes hidden: ~85 of them in a one-page app. That they slowed the explore page's
    epoch step was a reading at one load that did not hold up (bench/RESULTS.md, issue 30)."""
    fam = get_family(name)
    defaults = fam.Params()
    return html.Div(id=f"jp-box-{name}", children=[
        _field(param_id(name, field), field, info, getattr(defaults, field))
        for field, info in fam.Params.model_fields.items()])


def _recipe_fields() -> html.Details:
    return html.Details([html.Summary("Recipe (the family's defaults as placeholders)"), *[
        _field(f"jr-{field}", field, info, info.default) for field, info in Recipe.model_fields.items()]],
        id="job-recipe-fields-box", style=_BLOCK)


def _box(key: str, label: str, control, hint: str = "") -> html.Div:
    return html.Div(id=f"job-{key}-box", style=_FIELD, children=[
        html.Label(label, style=_LABEL), control, *([html.Span(hint, style=_HINT)] if hint else [])])


def _text(fid: str, hint: str, width: str = "150px", value: str | None = None) -> dcc.Input:
    return dcc.Input(id=fid, type="text", placeholder=hint, value=value, debounce=False, style={"width": width})


def _configs(store: Store) -> list[dict]:
    named = [(n, load_config(n)) for n in config_names()] + sorted(stored_configs(store, quiet=True).items())
    return [{"label": f"{n}: {c.variant.split(':')[0]}", "value": n, "title": c.description} for n, c in named]


def form(store: Store) -> list:
    """The form's children (the start button and message are jobs_panel's)."""
    families = list_families()
    runs = [{"label": f"{k.family}: {k.variant}", "value": data.variant_id(k)} for k in store.runs()]
    return [
        dcc.RadioItems(id="job-kind", options=[{"label": f" {k} ", "value": k} for k in SHOWN], value="train",
                       inline=True, style={"margin": "4px 0"}),
        _box("config", "Config", dcc.Dropdown(id="job-config", options=_configs(store), placeholder="none",
                                              style={"width": "300px", "fontSize": 13})),
        _box("family", "Family", dcc.Dropdown(id="job-family", options=families, value=families[0],
                                              clearable=False, style={"width": "220px", "fontSize": 13})),
        _box("run", "Run", dcc.Dropdown(id="job-run", options=runs, placeholder="pick a run",
                                        style={"width": "520px", "fontSize": 13})),
        html.Div(id="job-params-box", children=[family_fields(families[0])]),
        _recipe_fields(),
        _box("target", "Variant spec (filled from the fields; a sweep SPEC for sweep)",
             _text("job-target", "family:key=value,... (sweep: family:p=97|101,seed=0-3)", "520px", families[0])),
        _box("recipe", "Recipe overrides", _text("job-recipe", "lr=3e-3, weight_decay=0.5", "260px")),
        _box("epochs", "Epochs", _text("job-epochs", "default", "90px")),
        _box("schedule", "Checkpoints", _text("job-schedule", "0:3000:100", "130px")),
        _box("extra-epochs", "Extend by epochs", _text("job-extra-epochs", "e.g. 1000", "110px")),
        _box("analyzers", "Analyzers", _text("job-analyzers", "all, or names a,b", "220px")),
    ]


def compose_spec(family: str, values: dict[str, object]) -> str:
    """'family:k=v,...' from the param boxes that hold a value (the rest take the defaults)."""
    set_ = [f"{k}={str(v).strip()}" for k, v in values.items() if v is not None and str(v).strip()]
    return f"{family}:{','.join(set_)}" if set_ else family


def compose_recipe(values: dict[str, object]) -> str:
    """'k=v, ...' from the recipe boxes that hold a value."""
    return ", ".join(f"{k}={str(v).strip()}" for k, v in values.items() if v is not None and str(v).strip())


def register(app, store: Store) -> None:
    """Per-kind visibility, the picked family's params, and the fields filling the spec and recipe boxes."""
    recipe = list(Recipe.model_fields)

    @app.callback(*[Output(f"job-{b}-box", "style") for b in _BOXES], Input("job-kind", "value"))
    def _show(kind):
        shown = SHOWN.get(kind, SHOWN["train"])
        return tuple((_BLOCK if b in ("params", "recipe-fields") else _FIELD) if b in shown else {"display": "none"}
                     for b in _BOXES)

    @app.callback(Output("job-params-box", "children"), Input("job-family", "value"), prevent_initial_call=True)
    def _params(family):
        return [family_fields(family)] if isinstance(family, str) and family in list_families() else no_update

    @app.callback(*[Output(f"jr-{r}", "placeholder") for r in recipe], Input("job-family", "value"))
    def _recipe_defaults(family):
        return recipe_defaults(family, recipe)

    @app.callback(Output("job-target", "value"), Output("job-recipe", "value"),
                  Input("job-family", "value"), Input("job-config", "value"), Input("job-run", "value"),
                  Input(param_id(ALL, ALL), "value"), State(param_id(ALL, ALL), "id"),
                  *[Input(f"jr-{r}", "value") for r in recipe], prevent_initial_call=True)
    def _fill(family, config, run, values, ids, *recipe_values):
        params = {(i["family"], i["field"]): v for i, v in zip(ids, values)}
        return fill(store, ctx.triggered_id, family, config, run, params, dict(zip(recipe, recipe_values)))


def recipe_defaults(family: object, fields: list[str]) -> list:
    """The recipe boxes' placeholders: `family`'s own recipe at its default params."""
    if not isinstance(family, str) or family not in list_families():
        return [no_update] * len(fields)
    fam = get_family(family)
    recipe = fam.recipe(fam.Params())
    return ["none" if getattr(recipe, f) is None else str(getattr(recipe, f)) for f in fields]


def fill(store: Store, trigger: object, family: object, config: object, run: object, params: dict,
         recipe: dict) -> tuple:
    """(spec box, recipe box) after the field `trigger` changed (no_update where it says nothing)."""
    if trigger == "job-run":
        try:
            return store.read_record(data.resolve_variant(store, run)).variant, no_update
        except UserError:
            return no_update, no_update
    if trigger == "job-config" and isinstance(config, str) and config:
        try:
            return load_config(config, store=store, files=False).variant, no_update
        except UserError:
            return no_update, no_update
    if not isinstance(family, str) or family not in list_families():
        return no_update, no_update
    mine = {p: v for (f, p), v in params.items() if f == family}
    return compose_spec(family, mine), compose_recipe(recipe)
