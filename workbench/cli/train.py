"""`workbench train`, `configs`, `sweep` and `densify`: the commands that train."""

from __future__ import annotations

from workbench.cli._args import spec_or_demo, store_of
from workbench.cli.runs import print_json
from workbench.core.compute import ask_threads
from workbench.requests import SweepRequest, TrainRequest, checked, execute
from workbench.training.config import RunConfig, config_names, load_config, parse_sets, save_config, stored_configs
from workbench.training.densify import densify, plan_densify

__all__ = ["cmd_train", "cmd_configs", "cmd_sweep", "cmd_densify", "train_request", "sweep_request", "CONFIG_KEYS"]

CONFIG_KEYS = ("variant", "recipe", "epochs", "schedule", "eval_every", "description")  # `configs --json`, with name


def train_request(args) -> TrainRequest:
    """`workbench train`'s arguments as the typed request a dashboard job sends too."""
    return checked(TrainRequest, variant=args.variant, config=args.config, recipe=parse_sets(args.set),
                   epochs=args.epochs, extra_epochs=args.extra_epochs, schedule=args.schedule,
                   eval_every=args.eval_every, seeds=args.seeds, data_seeds=args.data_seeds, resume=args.resume,
                   device=args.device, threads=args.threads, step_mode=args.step_mode, log_format=args.log_format,
                   quiet=args.quiet)


def cmd_train(args) -> None:
    execute(train_request(args), store_of(args))


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
    configs = [(n, load_config(n)) for n in config_names()] + sorted(saved.items())
    if args.json:
        print_json([{"name": name, **cfg.model_dump(include=set(CONFIG_KEYS)), "saved_in_store": name in saved}
                    for name, cfg in configs])
        return
    for name, cfg in configs:
        over = ",".join(f"{k}={v}" for k, v in cfg.recipe.items())
        print(f"{name:28s} {cfg.variant}" + (f"  recipe {over}" if over else "") + ("  (saved in the store)" if name in saved else "")
              + (f"\n{'':28s} {cfg.description}" if cfg.description else ""))


def sweep_request(args) -> SweepRequest:
    """`workbench sweep`'s arguments as the typed request a dashboard job sends too."""
    return checked(SweepRequest, spec=args.spec, backend=args.backend, analyze=not args.no_analyze,
                   analyzers=args.analyzers, epochs=args.epochs, schedule=args.schedule, eval_every=args.eval_every,
                   retries=args.retries, dry_run=args.dry_run, device=args.device, threads=args.threads,
                   quiet=args.quiet)


def cmd_sweep(args) -> None:
    execute(sweep_request(args), store_of(args))


def cmd_densify(args) -> None:
    store = store_of(args)
    ask_threads(args.threads)  # a replay runs at the run's recorded count: a different --threads is refused
    plan = plan_densify(spec_or_demo(args), store, around=args.around, every=args.every)
    if not plan.new:
        print(f"{plan.variant.spec}: no multiple of {plan.every} in {plan.window[0]}..{plan.window[1]} lacks a "
              "checkpoint; nothing to do")
        return
    written = densify(plan, store, device=args.device, quiet=args.quiet)
    print(f"{plan.variant.spec}: window {plan.window[0]}..{plan.window[1]} ({plan.how}): {len(written)} new "
          f"checkpoints ({', '.join(map(str, written))}) every {plan.every} epochs, replayed from the state at epoch "
          f"{plan.start} to {plan.stop}, every existing checkpoint on the way bit-identical; run `workbench analyze`")
