"""Calibrate the Z_p Fourier verdict (issue 28; analyzers._multi_prime.zp_tests) on single-prime
modular_addition runs: a grokked model's answer-position neurons should pass, a memorizing one's
should not. Prints, per run and checkpoint, test accuracy over all pairs, the wrap scores' median
and quartiles, and how many neurons reach p_fw <= 0.01, wrap >= 0.8, and the verdict.

    OMP_NUM_THREADS=1 nice -n 10 python bench/uma_zp_calibration.py STORE EPOCH SPEC [SPEC ...]

STORE is read only (checkpoints are loaded; nothing is written). Uses 199 relabellings per prime.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from analyzers._multi_prime import FW_ALPHA, WRAP_MIN, PrimeBlock, fit_sinusoid, sum_signal, zp_tests
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store


def calibrate(store: Store, spec: str, epoch: int) -> str:
    v = parse_variant(spec)
    fam, params = v.family, v.params
    model = fam.tl_model(params, store.load_checkpoint(RunKey(*v.key), epoch))
    probe = fam.probe(params)
    with torch.no_grad():
        logits, cache = model.run_with_cache(probe.inputs)
    acc = float((logits[:, -1].argmax(-1) == probe.labels).float().mean())
    hook = fam.capabilities(params).neuron_hooks[-1]
    acts = cache[hook][:, -1].double().numpy()
    p = int(params.p)
    block = PrimeBlock(p, 0, np.arange(len(acts)), probe.inputs[:, 0].numpy(), probe.inputs[:, 1].numpy())
    signal = sum_signal(acts, block)
    z = zp_tests(acts, block, signal, fit_sinusoid(signal), n_perm=199)
    q = np.nanquantile(z["wrap"], [0.25, 0.5, 0.75])
    return (f"{spec} @ {epoch}: accuracy {acc:.3f}; {acts.shape[1]} neurons; wrap quartiles {q[0]:+.2f} {q[1]:+.2f} "
            f"{q[2]:+.2f}; p_fw <= {FW_ALPHA}: {int((z['p_fw'] <= FW_ALPHA).sum())}; wrap >= {WRAP_MIN}: "
            f"{int((z['wrap'] >= WRAP_MIN).sum())}; Z_p verdict: {int(np.nansum(z['zp_fourier']))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("epoch", type=int)
    parser.add_argument("specs", nargs="+")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for spec in args.specs:
        print(calibrate(Store(args.store), spec, args.epoch), flush=True)


if __name__ == "__main__":
    main()
