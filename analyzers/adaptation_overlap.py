"""The MIRAS study's neuron-adaptation measure (issue 28): which neurons are "important" at each
prime, and how many of them are the same neurons at other primes, read against chance.

Source: unixsysdev/grokking-fourier, miras_experiment/visualize_adaptation.py (@2a3ad83),
`find_top_fourier_overlap`:

1. the last MLP's post-ReLU activations at the answer ('=') position over all p^2 pairs (a, b);
2. a neuron's importance at p is its standard deviation over that grid (numpy, ddof 0);
3. the top K = 100 neurons by importance form the prime's set;
4. the study prints the intersection of the sets over its primes (11, 17 and 23 for its RL
   checkpoint: "neurons active across ALL primes").

Chance. With n neurons, two random k-subsets share k^2 / n on average (hypergeometric), m of
them n (k / n)^m: top-100 of the study's 512 share 19.5 by chance, top-100 of 256 (the CPU
demo) 39. So every overlap here is read against a null of random subsets: each prime's set is
replaced by a random set of the same size drawn from the neurons live at that prime (N_DRAWS
seeded draws, the same on every run). `chance` is the null's exact mean
(sum over neurons of the product over primes of k_p / live_p, which is k^2 / n when every
neuron is live), `null_q99` its 99th percentile and `overlap_p` (1 + #draws >= observed) /
(1 + N_DRAWS).

Reading it. An overlap above chance says the same neurons carry the most variance at both
primes. It does not say they compute the same thing there (a neuron with large weights varies
at every prime), nor that they are Fourier features of Z_p: for that read modular_sum_signal's
and neuron_adaptation's verdicts. Hence the analyzer's declared null, "random": the same measure
on freshly initialized networks of the run's shape (`overlap` and `intersection` per draw), the
overlap that weight scale alone gives. On the MIRAS CPU demo (bench/RESULTS.md) untrained
networks overlap more than trained ones: there the random-subset chance is beaten by
initialisation, and the untrained networks are the null to read a trained overlap against.

Where ours differs from the study's script:
- k is declared in the artifact (`k`): K = 100, at most half the neurons (so two sets can be
  disjoint); only neurons that vary at a prime (std > 0) can be in its set, so a prime with
  fewer live neurons has a smaller set (`n_live`; the study's argsort would fill it with dead
  neurons in index order);
- ties in importance go to the lower neuron index (the study's argsort leaves them unspecified);
- every prime of the family's sweep, pairwise (`overlap`, `jaccard` [prime, prime]); the
  study's all-primes intersection per set (`set_names`): the seen, unseen and extrapolation
  primes >= MIN_P, all of those, and the study's own {11, 17, 23} where the sweep holds them;
- the activations come from the family's own forward (for arch=miras: position 0 is the memory
  map of SinPE(p) + lin(p) without the unused positional row the study's script adds; the two
  agree once that row has decayed, issue 28 notes).
"""

from __future__ import annotations

import numpy as np

from analyzers._multi_prime import MIN_P, NULL_SEED, answer_hook, neuron_rows, prime_blocks
from workbench.core.analyzer import register_analyzer

__all__ = ["adaptation_overlap", "top_sets", "overlap_null", "K", "N_DRAWS", "STUDY_PRIMES", "SETS"]

K = 100  # the study's top-k
N_DRAWS = 999  # random-subset draws of the null (p-values in steps of 1/1000)
STUDY_PRIMES = (11, 17, 23)  # visualize_adaptation.py's test_primes
SETS = ("seen", "unseen", "extrapolation", "all", "study 11+17+23")
_CHUNK = 128  # draws per batch: bounds memory at _CHUNK * primes * neurons floats


def top_sets(importance: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """importance [prime, n] -> (membership [prime, n] bool of each prime's top-k live neurons, top [prime, k]).

    `top[i]` lists prime i's set by falling importance (ties: lower index first), -1 past its live neurons.
    """
    n_primes, n = importance.shape
    order = np.argsort(-importance, axis=1, kind="stable")
    top = np.full((n_primes, k), -1, dtype=np.int64)
    member = np.zeros((n_primes, n), dtype=bool)
    for i in range(n_primes):
        live = order[i][importance[i, order[i]] > 0][:k]
        top[i, :len(live)] = live
        member[i, live] = True
    return member, top


def _draws(live: np.ndarray, sizes: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """[count, prime, n] float32: per prime a random subset of `sizes[i]` of its live neurons."""
    n_primes, n = live.shape
    out = np.zeros((count, n_primes, n), dtype=np.float32)
    for i in range(n_primes):
        if sizes[i]:
            keys = np.where(live[i], rng.random((count, n)), np.inf)
            idx = np.argpartition(keys, sizes[i] - 1, axis=1)[:, :sizes[i]]
            np.put_along_axis(out[:, i], idx, 1.0, axis=1)
    return out


def overlap_null(member: np.ndarray, live: np.ndarray, sets: list[np.ndarray],
                 n_draws: int = N_DRAWS) -> dict[str, np.ndarray]:
    """Observed overlaps and their random-subset null (module docstring).

    Args:
        member: [prime, n] each prime's set; live: [prime, n] the neurons a set may hold.
        sets: index arrays of primes whose common intersection is reported.
    Returns:
        overlap, chance, null_q99, overlap_p [prime, prime]; intersection, set_chance, set_null_q99, set_p [set].
    """
    sizes = member.sum(1)
    pi = np.where(live, sizes[:, None] / np.maximum(live.sum(1), 1)[:, None], 0.0)  # [prime, n] inclusion chance
    m = member.astype(np.float64)
    obs, obs_sets = m @ m.T, np.array([m[s].prod(0).sum() if len(s) else np.nan for s in sets])
    rng = np.random.default_rng([NULL_SEED, int(member.shape[1]), int(sizes.sum())])
    pair_null, set_null = [], []
    for start in range(0, n_draws, _CHUNK):
        d = _draws(live, sizes, rng, min(_CHUNK, n_draws - start))
        pair_null.append(d @ d.transpose(0, 2, 1))
        set_null.append(np.stack([d[:, s].prod(1).sum(-1) if len(s) else np.full(len(d), np.nan) for s in sets], 1))
    pair_null, set_null = np.concatenate(pair_null), np.concatenate(set_null)
    chance = pi @ pi.T
    np.fill_diagonal(chance, sizes)
    return {"overlap": obs, "chance": chance, "null_q99": np.quantile(pair_null, 0.99, axis=0),
            "overlap_p": (1 + (pair_null >= obs - 1e-9).sum(0)) / (1 + n_draws), "intersection": obs_sets,
            "set_chance": np.array([pi[s].prod(0).sum() if len(s) else np.nan for s in sets]),
            "set_null_q99": np.array([np.quantile(c, 0.99) if np.isfinite(c).all() else np.nan for c in set_null.T]),
            "set_p": np.array([(1 + (c >= o - 1e-9).sum()) / (1 + n_draws) if np.isfinite(o) else np.nan
                               for c, o in zip(set_null.T, obs_sets)])}


def _sets(primes: np.ndarray, group: np.ndarray) -> list[np.ndarray]:
    """Prime indices of each of SETS (primes >= MIN_P; the study's set only when all three are swept)."""
    big = primes >= MIN_P
    by_group = [np.flatnonzero(big & (group == g)) for g in range(3)]
    study = np.flatnonzero(np.isin(primes, STUDY_PRIMES))
    return [*by_group, np.flatnonzero(big & (group <= 2)), study if len(study) == len(STUDY_PRIMES) else study[:0]]


_PAIR = ("overlap", "jaccard", "chance", "null_q99", "overlap_p")
_SET = ("intersection", "set_chance", "set_null_q99", "set_p", "set_size")


@register_analyzer("adaptation_overlap", kind="activations", hooks=answer_hook, needs=("multi_prime",), null="random",
                   null_outputs=("overlap", "intersection"), outputs={
    "primes": ("prime",), "group": ("prime",), "k": (), "n_live": ("prime",), "importance": ("prime", "neuron"),
    "top": ("prime", "rank"), **{k: ("prime", "prime") for k in _PAIR}, "set_names": ("set",),
    **{k: ("set",) for k in _SET}}, kinds={"primes": "int", "group": "int", "k": "int", "n_live": "int", "top": "int",
                                          "set_names": "label", "set_size": "int"})
def adaptation_overlap(ctx) -> dict[str, np.ndarray]:
    """The study's top-k neurons by activation std per prime, and their overlaps between primes against chance.

    `overlap[i, j]` counts the neurons in both primes' sets (k_i on the diagonal), `jaccard` is
    overlap / union; read them against `chance` (the random-subset mean), `null_q99` and
    `overlap_p`. Per set of primes (`set_names`), the study's measure: the size of the common
    intersection, its chance and null.
    """
    acts = neuron_rows(ctx)
    blocks = list(prime_blocks(ctx))
    importance = np.stack([acts[b.rows].std(0) for b in blocks])  # [prime, n]
    n = importance.shape[1]
    k = min(K, n // 2)
    live = importance > 1e-12 * np.maximum(np.abs(importance).max(), 1.0)
    member, top = top_sets(np.where(live, importance, 0.0), k)
    primes, group = (np.array([getattr(b, f) for b in blocks], dtype=np.int64) for f in ("p", "group"))
    sets = _sets(primes, group)
    out = overlap_null(member, live, sets)
    sizes = member.sum(1)
    union = sizes[:, None] + sizes[None, :] - out["overlap"]
    out["jaccard"] = np.where(union > 0, out["overlap"] / np.maximum(union, 1), np.nan)
    out = {name: out[name].astype(np.float32) for name in _PAIR + _SET[:-1]}
    return {"primes": primes, "group": group, "k": np.asarray(k, dtype=np.int64), "n_live": live.sum(1),
            "importance": importance.astype(np.float32), "top": top, **out, "set_names": np.array(SETS),
            "set_size": np.array([len(s) for s in sets], dtype=np.int64)}
