"""interleaved_streams' sequences: the pattern laws, the fixed sets, the fresh per-step draw and the scoring.

Pattern laws (`patterns`):
- ``distinct_2_8`` (the family's original law): a pattern's length is uniform over [2, 8]
  and its tokens are distinct, so a stream's period is exactly its length;
- ``study_2_7`` (the study's, `np.random.randint(2, 8)` in LostInSubSpace's
  exp_a_foundation.py): length uniform over [2, 7], tokens drawn with replacement (a
  pattern may repeat a token).

Data modes (`data`):
- ``fixed``: `n_train_seqs` training and `n_val_seqs` validation sequences drawn once from
  `data_seed`, deduplicated so the sets share no sequence;
- ``fresh`` (the study's infinite stream): every optimizer step trains on FRESH_ROWS new
  sequences, a pure function of (batch_seed, step, data_seed), so a resumed run redraws
  the same rows. Evaluation uses two fixed sets of `n_val_seqs` sequences from separate
  streams of `data_seed` ("train": the training law, "test": validation); `n_train_seqs` is
  unused. Unlike the study, validation is not redrawn each epoch (less noise between evaluations).

Scoring (`scoring`): ``predictable`` labels only positions whose next token's stream has
shown its whole pattern once (the rest are IGNORE); ``all`` labels every position with the
next token, as the study's loss does.
"""

from __future__ import annotations

import functools

import torch

from workbench.core.family import IGNORE
from workbench.core.train_module import DATA_STREAM, step_seed

__all__ = ["PATTERN_LENGTHS", "STUDY_LENGTHS", "FRESH_ROWS", "draw", "make_sequences", "scored", "labels_for",
           "eval_sequences", "fresh_draw"]

PATTERN_LENGTHS = (2, 8)  # distinct_2_8: a stream's pattern length is uniform over [2, 8]
STUDY_LENGTHS = (2, 7)  # study_2_7: np.random.randint(2, 8), i.e. [2, 7]
FRESH_ROWS = 64  # data=fresh: sequences per optimizer step (the study's batch size)
_EVAL_STREAM = 3  # data=fresh: the fixed evaluation sets' stream of data_seed (never a training step's)


def _distinct_tokens(n: int, k: int, vocab: int, gen: torch.Generator) -> torch.Tensor:
    """[n, k] tokens, distinct within each row, uniform over ordered k-subsets of range(vocab)."""
    out = torch.empty(n, k, dtype=torch.long)
    for j in range(k):  # draw among the vocab - j unused tokens, then skip over the used ones
        r = torch.randint(vocab - j, (n,), generator=gen)
        for used in out[:, :j].sort(dim=1).values.T:
            r += (r >= used).long()
        out[:, j] = r
    return out


def draw(n: int, params, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n sequences of seq_len + 1 tokens [n, seq_len + 1] and their pattern lengths [n, 2] (A, B)."""
    if params.patterns == "study_2_7":
        lo, hi = STUDY_LENGTHS
        lengths = torch.randint(lo, hi + 1, (n, 2), generator=gen)
        patterns = torch.randint(params.vocab_size, (n, 2, hi), generator=gen)  # with replacement
    else:  # distinct_2_8: the draw order of the family's first runs (their data must not change)
        lo, hi = PATTERN_LENGTHS
        lengths = torch.randint(lo, hi + 1, (n, 2), generator=gen)
        patterns = _distinct_tokens(2 * n, hi, params.vocab_size, gen).view(n, 2, hi)
    t = torch.arange((params.seq_len + 2) // 2)  # stream index
    streams = patterns.gather(2, (t % lengths[..., None]))  # [n, 2, T]
    if params.task == "random":
        streams = torch.randint(params.vocab_size, streams.shape, generator=gen)
    return streams.transpose(1, 2).reshape(n, -1)[:, : params.seq_len + 1], lengths


def make_sequences(params) -> tuple[torch.Tensor, torch.Tensor]:
    """data=fixed: train then validation sequences [n_train + n_val, seq_len + 1] and pattern lengths [.., 2].

    Drawn from `data_seed` in rounds; a sequence already drawn is dropped, so no sequence
    is in both sets (nor twice in one).
    """
    want = params.n_train_seqs + params.n_val_seqs
    gen = torch.Generator().manual_seed(params.data_seed)
    seen: set[bytes] = set()
    rows, lens = [], []
    for _ in range(100):
        tokens, lengths = draw(want - len(rows) + 8, params, gen)
        for row, ln in zip(tokens, lengths):
            key = row.numpy().tobytes()
            if key not in seen and len(rows) < want:
                seen.add(key)
                rows.append(row)
                lens.append(ln)
        if len(rows) == want:
            return torch.stack(rows), torch.stack(lens)
    raise ValueError(f"could not draw {want} distinct sequences from vocab_size={params.vocab_size}")


@functools.lru_cache(maxsize=8)
def eval_sequences(params) -> tuple[torch.Tensor, torch.Tensor]:
    """The evaluated sequences and pattern lengths: data=fixed, `make_sequences`; data=fresh,
    n_val_seqs rows of the training law ("train") then n_val_seqs validation rows."""
    if params.data != "fresh":
        return make_sequences(params)
    sets = [draw(params.n_val_seqs, params, torch.Generator().manual_seed(step_seed(params.data_seed, k, _EVAL_STREAM)))
            for k in (0, 1)]
    return torch.cat([s[0] for s in sets]), torch.cat([s[1] for s in sets])


def scored(lengths: torch.Tensor, seq_len: int) -> torch.Tensor:
    """[n, seq_len] bool: the label of position i (token i+1) is predictable, i.e. token
    i+1's stream has shown its whole pattern once (its stream index >= its pattern length)."""
    nxt = torch.arange(1, seq_len + 1)
    stream, index = nxt % 2, nxt // 2
    return index >= lengths[:, stream]  # [n, seq_len]


def labels_for(tokens: torch.Tensor, lengths: torch.Tensor, params) -> torch.Tensor:
    """Next-token labels [n, seq_len]: every position (scoring=all) or the predictable ones."""
    if params.scoring == "all":
        return tokens[:, 1:].clone()
    return torch.where(scored(lengths, params.seq_len), tokens[:, 1:], IGNORE)


def fresh_draw(params):
    """data=fresh: the trainer's per-step draw (step, generator) -> (inputs, labels).

    The trainer's generator is seeded from (batch_seed, step); one number drawn from it is
    mixed with `data_seed`, so runs that differ only in data_seed see different streams
    and runs that share both (the conditions of one seed) see the same batches."""
    def one_step(step: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        salt = int(torch.randint(2**62, (1,), generator=generator))
        gen = torch.Generator().manual_seed(step_seed(params.data_seed, salt, DATA_STREAM))
        tokens, lengths = draw(FRESH_ROWS, params, gen)
        return tokens[:, :-1].contiguous(), labels_for(tokens, lengths, params)

    return one_step
