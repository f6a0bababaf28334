"""The prime split and the rows of universal_modular (issue 13, 28): which primes are seen,
unseen, extrapolation or below (by range and prime_seed, or by name), the p^2 rows of a
prime, and the study's fresh draw of each step's rows (families/universal_modular.py's
docstring defines them)."""

from __future__ import annotations

import numpy as np
import torch

from families.modular_addition import is_prime

__all__ = ["prime_groups", "prime_rows", "n_classes", "eq_token", "fresh_draw", "primes_between"]


def primes_between(lo: int, hi: int) -> list[int]:
    return [n for n in range(max(lo, 2), hi + 1) if is_prime(n)]


def prime_groups(params) -> tuple[np.ndarray, np.ndarray]:
    """(every prime 2..max_p [n] int64, its group code [n] int64, GROUPS[code])."""
    if params.train_primes is not None or params.unseen_primes is not None or params.extrapolation_primes is not None:
        return _named_groups(params)
    in_range = primes_between(params.train_min, params.train_max)
    order = torch.randperm(len(in_range) - 2, generator=torch.Generator().manual_seed(params.prime_seed)) \
        if len(in_range) > 2 else torch.zeros(0, dtype=torch.long)
    unseen = {in_range[1 + int(i)] for i in order[: params.n_unseen]}
    primes = np.array(primes_between(2, params.max_p), dtype=np.int64)
    group = np.where(primes < params.train_min, 3, np.where(primes > params.train_max, 2, 0))
    group[np.isin(primes, sorted(unseen))] = 1
    return primes, group.astype(np.int64)


def _named_groups(params) -> tuple[np.ndarray, np.ndarray]:
    primes = np.array(primes_between(2, params.max_p), dtype=np.int64)
    unseen = params.unseen_primes or ()
    train = params.train_primes  # None: the training range less the unseen primes
    if train is None:
        train = [p for p in primes_between(params.train_min, params.train_max) if p not in unseen]
    extrap = params.extrapolation_primes
    if extrap is None:  # every prime above the named seen and unseen ones
        extrap = primes[primes > max((*train, *unseen), default=0)]
    group = np.full(len(primes), 3, dtype=np.int64)
    for code, named in ((0, train), (1, unseen), (2, extrap)):
        group[np.isin(primes, np.asarray(named, dtype=np.int64))] = code
    return primes, group


def prime_rows(p: int, eq: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All p^2 rows [p, a, b, eq] (a-major) and their labels (a + b) mod p."""
    a, b = torch.arange(p).repeat_interleave(p), torch.arange(p).repeat(p)
    return torch.stack([torch.full_like(a, p), a, b, torch.full_like(a, eq)], 1), (a + b) % p


def n_classes(params) -> int:
    """Output classes: n_classes (miras) or max_p."""
    return params.n_classes or params.max_p


def eq_token(params) -> int:
    """The '=' token: one past the classes."""
    return n_classes(params)


def fresh_draw(params):
    """The study's per-step draw (module docstring, Data): (step, generator) -> (inputs, labels)."""
    primes, group = prime_groups(params)
    train = [int(p) for p in primes[group == 0]]
    eq = eq_token(params)

    def draw(step: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        early = params.curr_primes and step <= params.curr_steps
        inputs = []
        for p in train[: params.curr_primes] if early else train:
            if p < params.all_below:
                inputs.append(prime_rows(p, eq)[0])
                continue
            a, b = torch.randint(p, (2, params.pairs_per_p), generator=gen)
            inputs.append(torch.stack([torch.full_like(a, p), a, b, torch.full_like(a, eq)], 1))
        pool = torch.cat(inputs)
        rows = pool[torch.randperm(len(pool), generator=gen)[: params.fresh_batch]]
        return rows, (rows[:, 1] + rows[:, 2]) % rows[:, 0]
    return draw
