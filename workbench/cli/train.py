"""`workbench train`, `configs`, `sweep` and `densify`: the commands that train."""

from __future__ import annotations

from workbench.cli._args import spec_of, spec_or_demo, store_of
from workbench.core.errors import UserError
from workbench.core.variant import demo_variant, parse_variant
from workbench.sweep.backends import run_sweep
from workbench.sweep.spec import expand, groups, load_sweep
from workbench.sweep.stacked import train_sweep
from workbench.training.config import RunConfig, config_names, load_config, parse_sets, save_config, stored_configs
from workbench.training.densify import densify, plan_densify
from workbench.training.trainer import plan_training, train

__all__ = ["cmd_train", "cmd_configs", "cmd_sweep", "cmd_densify"]


def _train_request(args):
    """(variant, epochs, schedule, eval_every, config name) from VARIANT, --config and --set."""
    config = load_config(args.config, store=store_of(args)) if args.config else None
    sets = parse_sets(args.set)
    spec, demo = spec_of(args), {}
    if not spec:
        spec, demo = (config.variant, {}) if config else demo_variant()
    recipe = {**(config.recipe if config else {}), **sets}
    variant = parse_variant(spec, recipe=recipe)
    plan = {"epochs": args.epochs, "schedule": args.schedule, "eval_every": args.eval_every}
    for source in (config.model_dump() if config else {}, demo):
        plan = {k: source.get(k) if v is None else v for k, v in plan.items()}  # the command line wins
    if args.extra_epochs is not None:  # extending keeps the run's own plan
        plan = {"epochs": args.epochs, "schedule": args.schedule, "eval_every": args.eval_every}
    return variant, plan, (config.name if config else None)


def cmd_train(args) -> None:
    variant, plan_args, config = _train_request(args)
    store = store_of(args)
    if args.seeds is not None or args.data_seeds is not None:
        train_sweep(variant.spec, store, seeds=args.seeds, data_seeds=args.data_seeds, device=args.device,
                    quiet=args.quiet, log_format=args.log_format, step_mode=args.step_mode, **plan_args)
        return
    plan = plan_training(variant, store, extra_epochs=args.extra_epochs, config=config, **plan_args)
    if args.resume and plan.fresh:
        raise UserError(f"--resume: {variant.spec} has no run to resume in {store.root}")
    store.ensure_writable()
    if plan.start_epoch >= plan.epochs and not plan.fresh:
        print(f"{plan.variant.spec}: already trained to epoch {plan.epochs} ({store.run_dir(plan.key)})")
        return
    train(plan, store, device=args.device, quiet=args.quiet, log_format=args.log_format, step_mode=args.step_mode)


def cmd_configs(args) -> None:
    store = store_of(args)
    if args.action == "save":
        spec = spec_or_demo(args)
        config = RunConfig(variant=spec, recipe=parse_sets(args.set), epochs=args.epochs, schedule=args.schedule,
                           eval_every=args.eval_every, description=args.description or "")
        save_config(store, args.name, config, replace=args.replace)
        print(f"config {args.name!r} saved in {store.index_path()}; train with `workbench train --config {args.name}`")
        return
    saved = stored_configs(store)
    for name, cfg in [(n, load_config(n)) for n in config_names()] + sorted(saved.items()):
        over = ",".join(f"{k}={v}" for k, v in cfg.recipe.items())
        print(f"{name:28s} {cfg.variant}" + (f"  recipe {over}" if over else "") + ("  (saved in the store)" if name in saved else "")
              + (f"\n{'':28s} {cfg.description}" if cfg.description else ""))


def cmd_sweep(args) -> None:
    sweep = load_sweep(args.spec)
    if args.dry_run:
        for i, group in enumerate(groups(expand(sweep), sweep.max_members)):
            print(f"group {i + 1} {group.label}")
        return
    run_sweep(sweep, store_of(args), backend=args.backend, analyze=not args.no_analyze, device=args.device,
              epochs=args.epochs, schedule=args.schedule, eval_every=args.eval_every, analyzers=args.analyzers,
              retries=args.retries, quiet=args.quiet)


def cmd_densify(args) -> None:
    store = store_of(args)
    plan = plan_densify(spec_or_demo(args), store, around=args.around, every=args.every)
    if not plan.new:
        print(f"{plan.variant.spec}: no multiple of {plan.every} in {plan.window[0]}..{plan.window[1]} lacks a "
              "checkpoint; nothing to do")
        return
    written = densify(plan, store, device=args.device, quiet=args.quiet)
    print(f"{plan.variant.spec}: window {plan.window[0]}..{plan.window[1]} ({plan.how}): {len(written)} new "
          f"checkpoints ({', '.join(map(str, written))}) every {plan.every} epochs, replayed from the state at epoch "
          f"{plan.start} to {plan.stop}, every existing checkpoint on the way bit-identical; run `workbench analyze`")
