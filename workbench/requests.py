"""Typed requests: train, analyze and sweep as data, checked once, run by one function.

`workbench train|analyze|sweep` parse their arguments into these models (workbench.cli),
the dashboard's Runs page builds them from its form (workbench.ui.jobs.from_form: a wrong
type is a message, never an exception), a job row stores one as JSON and its worker
process runs it (`execute`). The command line, the page and a job check the same fields
the same way, and no command line is ever rebuilt from text.

The models are strict (an int field takes an int, never `true` or "12") and bounded
(`MAX_EPOCHS`: a 23-digit epoch count is refused before a job starts). `execute(...,
files=False)` never reads a file: a job's config is a name (the repository's configs/ or
the store's), its sweep an inline SPEC.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from workbench.analysis.pipeline import analyze
from workbench.core.compute import MAX_THREADS, ask_threads
from workbench.core.errors import UserError
from workbench.core.variant import demo_variant, parse_variant
from workbench.store import Store
from workbench.sweep.backends import check_sweep, run_sweep
from workbench.sweep.spec import expand, groups, load_sweep
from workbench.sweep.stacked import train_sweep
from workbench.training.config import load_config
from workbench.training.trainer import plan_training, train

__all__ = ["TrainRequest", "AnalyzeRequest", "SweepRequest", "Request", "MAX_EPOCHS", "execute", "request_of",
           "checked", "train_target", "runs_of"]

MAX_EPOCHS = 10**9  # far past any run here (the longest study trains 10^5 epochs); a bigger count is a typo
Count = Annotated[int, Field(ge=1, le=MAX_EPOCHS)]
Device = Annotated[str, Field(pattern=r"^(cpu|cuda(:[0-9]{1,3})?)$")]
ThreadCount = Annotated[int, Field(ge=1, le=MAX_THREADS)]  # --threads (workbench.core.compute)


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class TrainRequest(_Request):
    """`workbench train` (and the page's train and extend jobs)."""

    kind: Literal["train"] = "train"
    variant: str | None = None  # family[:key=value,...]; None: the config's, or the demo
    config: str | None = None  # a config NAME (or, on the command line, a .yaml FILE)
    recipe: dict[str, str] = {}  # --set FIELD=VALUE (typed by the recipe)
    epochs: Count | None = None
    extra_epochs: Count | None = None
    schedule: str | None = None
    eval_every: Count | None = None
    seeds: str | None = None
    data_seeds: str | None = None
    resume: bool = False
    device: Device = "cpu"
    threads: ThreadCount | None = None
    step_mode: Literal["auto", "eager", "compile", "graph"] = "auto"
    log_format: Literal["bar", "plain"] = "bar"
    quiet: bool = False


class AnalyzeRequest(_Request):
    """`workbench analyze`."""

    kind: Literal["analyze"] = "analyze"
    variant: str | None = None  # None: the demo
    analyzers: str = "all"
    epochs: str | None = None  # a checkpoint SPEC
    force: bool = False
    jobs: Annotated[int, Field(ge=1, le=256)] | None = None
    device: Device = "cpu"
    threads: ThreadCount | None = None
    quiet: bool = False
    probe: str | None = None  # a named probe (workbench probe add); None: the family's own
    # analyzer options (`--option NAME=VALUE`), e.g. {"ablate_heads": [0, 2], "patch_from": 1000}
    options: dict[str, int | str | list[int | str]] = Field(default_factory=dict)


class SweepRequest(_Request):
    """`workbench sweep`."""

    kind: Literal["sweep"] = "sweep"
    spec: str  # inline, or (on the command line) a YAML file
    backend: Literal["local", "ray"] = "local"
    analyze: bool = True
    analyzers: str | None = None  # None: the sweep's own
    epochs: Count | None = None
    schedule: str | None = None
    eval_every: Count | None = None
    retries: Annotated[int, Field(ge=0, le=100)] = 1
    dry_run: bool = False
    device: Device = "cpu"
    threads: ThreadCount | None = None
    quiet: bool = False


Request = Annotated[Union[TrainRequest, AnalyzeRequest, SweepRequest], Field(discriminator="kind")]
_REQUEST: TypeAdapter = TypeAdapter(Request)
_PHRASES = {"greater_than_equal": "must be at least {ge:,}", "less_than_equal": "must be at most {le:,}",
            "int_type": "must be a whole number", "string_type": "must be text", "bool_type": "must be true or false",
            "dict_type": "must be FIELD=VALUE pairs", "extra_forbidden": "is not a field of this request",
            "string_pattern_mismatch": "must be cpu, cuda or cuda:N", "missing": "is required"}  # pydantic error -> words


def _problem(err: ValidationError) -> str:
    """The first error as one line, named as the command line names it: '--epochs must be at most 1,000,000,000, got ...'."""
    e = err.errors()[0]
    loc = [str(x) for x in e["loc"] if isinstance(x, str)]
    field = "--" + loc[-1].replace("_", "-") if loc and loc[-1] not in ("train", "analyze", "sweep") else "request"
    phrase = _PHRASES.get(e["type"], e["msg"])
    if e["type"] == "greater_than_equal" and (e.get("ctx") or {}).get("ge") == 1:
        phrase = "must be positive"
    try:
        phrase = phrase.format(**(e.get("ctx") or {}))
    except (KeyError, ValueError, IndexError):
        pass
    got = e.get("input")
    shown = "" if e["type"] in ("missing", "extra_forbidden") else f", got {str(got)[:40]!r}"
    return f"{field} {phrase}{shown}"


def checked(model: type[_Request], **fields: Any) -> _Request:
    """`model(**fields)`, or UserError (one line naming the field) for a wrong type or bound."""
    try:
        return model(**fields)
    except ValidationError as err:
        raise UserError(_problem(err)) from None


def request_of(data: Any) -> TrainRequest | AnalyzeRequest | SweepRequest:
    """The request a job row stores (JSON data); UserError for anything that is not one."""
    if not isinstance(data, dict):
        raise UserError(f"a job's request must be a JSON object, got {type(data).__name__}")
    try:
        return _REQUEST.validate_python(data)
    except ValidationError as err:
        raise UserError(_problem(err)) from None


# ----------------------------------------------------------------------- train
def _nonempty(text: str | None, what: str) -> str | None:
    if text is not None and not text.strip():
        raise UserError(f"empty {what} ''; give family[:key=value,...], or leave it out for the demo")
    return text


def train_target(req: TrainRequest, store: Store, files: bool = True):
    """(variant, plan keywords for `plan_training`, config name) that `req` asks to train.

    A config's or the demo's schedule is passed as the default (cut at --epochs); the
    user's own is taken as asked (and refused if it runs past the epochs).
    """
    config = load_config(req.config, store=store, files=files) if req.config is not None else None
    spec, demo = _nonempty(req.variant, "VARIANT"), {}
    if not spec:
        spec, demo = (config.variant, {}) if config else demo_variant()
    variant = parse_variant(spec, recipe={**(config.recipe if config else {}), **req.recipe})
    given = {"epochs": req.epochs, "schedule": req.schedule, "eval_every": req.eval_every}
    if req.extra_epochs is not None:  # extending keeps the run's own plan
        return variant, given, (config.name if config else None)
    defaults = config.model_dump() if config else demo
    plan = {k: defaults.get(k) if v is None and k != "schedule" else v for k, v in given.items()}
    return variant, {**plan, "default_schedule": defaults.get("schedule")}, (config.name if config else None)


def _train(req: TrainRequest, store: Store, files: bool) -> None:
    variant, plan_args, config = train_target(req, store, files)
    if req.seeds is not None or req.data_seeds is not None:
        train_sweep(variant.spec, store, seeds=req.seeds, data_seeds=req.data_seeds, device=req.device,
                    quiet=req.quiet, log_format=req.log_format, step_mode=req.step_mode, **plan_args)
        return
    plan = plan_training(variant, store, extra_epochs=req.extra_epochs, config=config, **plan_args)
    if req.resume and plan.fresh:
        raise UserError(f"--resume: {variant.spec} has no run to resume in {store.root}")
    store.ensure_writable()
    if plan.start_epoch >= plan.epochs and not plan.fresh:
        print(f"{plan.variant.spec}: already trained to epoch {plan.epochs} ({store.run_dir(plan.key)})")
        return
    train(plan, store, device=req.device, quiet=req.quiet, log_format=req.log_format, step_mode=req.step_mode)


# --------------------------------------------------------------- analyze, sweep
def _analyze(req: AnalyzeRequest, store: Store, files: bool) -> None:
    spec = _nonempty(req.variant, "VARIANT") or demo_variant()[0]
    result = analyze(spec, store, analyzers=req.analyzers, epochs=req.epochs, force=req.force, device=req.device,
                     quiet=req.quiet, jobs=req.jobs, probe=req.probe, options=req.options or None)
    print(f"analyzed: {result.computed} artifacts written, {result.skipped} up to date"
          + (f", {len(result.failed)} unreadable checkpoints skipped: {', '.join(result.failed)}" if result.failed else ""))


def _sweep(req: SweepRequest, store: Store, files: bool) -> None:
    sweep = load_sweep(req.spec, files=files)
    if req.dry_run:
        for i, group in enumerate(groups(expand(sweep), sweep.max_members)):
            print(f"group {i + 1} {group.label}")
        return
    run_sweep(sweep, store, backend=req.backend, analyze=req.analyze, device=req.device, epochs=req.epochs,
              schedule=req.schedule, eval_every=req.eval_every, analyzers=req.analyzers, retries=req.retries,
              quiet=req.quiet)


def runs_of(req: TrainRequest | AnalyzeRequest | SweepRequest, store: Store, files: bool = True) -> list[str]:
    """The run ids ('family/variant') a request works on, checked as running it would check
    them up front (nothing is written); UserError otherwise."""
    if isinstance(req, SweepRequest):
        variants, _, _ = check_sweep(load_sweep(req.spec, files=files), store, backend=req.backend,
                                     analyze=req.analyze, device=req.device, epochs=req.epochs,
                                     schedule=req.schedule, eval_every=req.eval_every, analyzers=req.analyzers)
        return [f"{v.family.name}/{v.dir_name}" for v in variants]
    if isinstance(req, AnalyzeRequest):
        variant = parse_variant(_nonempty(req.variant, "VARIANT") or demo_variant()[0])
        return [f"{variant.family.name}/{variant.dir_name}"]
    variant, plan_args, config = train_target(req, store, files)
    plan_training(variant, store, extra_epochs=req.extra_epochs, config=config, **plan_args)
    return [f"{variant.family.name}/{variant.dir_name}"]


def execute(req: TrainRequest | AnalyzeRequest | SweepRequest, store: Store, files: bool = True) -> None:
    """Run a request in this process, printing what the command prints.

    Args:
        req: the request; store: the store it works in;
        files: whether a config or sweep may be read from a file (False for a job: names
            and inline SPECs only).
    Raises:
        UserError (one line) for anything the command would refuse.
    """
    ask_threads(req.threads)  # for this process's work; a resumed run's record may refuse it
    {TrainRequest: _train, AnalyzeRequest: _analyze, SweepRequest: _sweep}[type(req)](req, store, files)
