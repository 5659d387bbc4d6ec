"""Replicas in lockstep (sim.lockstep): their rods run as one batch, each replica's file bit for
bit its run alone; runs that differ run alone; a replica that fails leaves the others running."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from sim.lockstep import Lockstep
from sim.rod.model import RodParams
from sim.rod.runner import simulate
from sim.scenario import RunContext

SEEDS = [3, 17, 1234567890123]


def _params(seed: int, N: int = 6) -> RodParams:
    return RodParams(N=N, C=20.0, K=5.0, T_L=1.1, T_R=0.9, dt=0.2, noise=True, seed=seed)


def _replica(ctx: RunContext, seed: int, nsteps=lambda seed: 600):
    """Two simulations, as a scenario makes them: a 6-ring rod, then an 8-ring one."""
    simulate(_params(seed), nsteps(seed), 50, path=ctx.path("a.h5"), progress=False, ctx=ctx)
    run = simulate(_params(seed, N=8), 400, 40, path=ctx.path("b.h5"), progress=False, ctx=ctx)
    return float(run.state.E.sum())


def _frames(path: Path) -> dict:
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in f if isinstance(f[k], h5py.Dataset)}


def _same_files(a: Path, b: Path) -> bool:
    fa, fb = _frames(a), _frames(b)
    return fa.keys() == fb.keys() and all(np.array_equal(fa[k], fb[k]) for k in fa)


def _contexts(root: Path, lockstep=None) -> list[RunContext]:
    return [RunContext(out_dir=root / f"r{i}", quiet=True, seed=s, lockstep=lockstep) for i, s in enumerate(SEEDS)]


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    root = tmp_path_factory.mktemp("alone")
    return root, [_replica(ctx, s) for ctx, s in zip(_contexts(root), SEEDS)]


def test_replicas_in_lockstep_run_as_batches_and_write_the_files_of_their_runs_alone(alone, tmp_path):
    root, energies = alone
    lockstep = Lockstep()
    ctxs = _contexts(tmp_path, lockstep)
    got = lockstep.run([lambda c=c, s=s: _replica(c, s) for c, s in zip(ctxs, SEEDS)])
    assert (lockstep.batches, lockstep.solo) == (2, 0)
    assert got == energies  # each replica's final state, bit for bit
    for i in range(len(SEEDS)):
        for name in ("a.h5", "b.h5"):
            assert _same_files(tmp_path / f"r{i}" / name, root / f"r{i}" / name)
        assert ctxs[i].ring_steps == pytest.approx(6 * 600 + 8 * 400)  # the batch's work, shared out
        assert any("batch of 3 replicas" in note for note in ctxs[i].notes)


def test_runs_that_differ_run_alone(alone, tmp_path):
    root, _ = alone
    lockstep = Lockstep()
    ctxs = _contexts(tmp_path, lockstep)
    steps = {SEEDS[0]: 600, SEEDS[1]: 300, SEEDS[2]: 600}  # replica 1 asks for another length
    lockstep.run([lambda c=c, s=s: _replica(c, s, nsteps=steps.get) for c, s in zip(ctxs, SEEDS)])
    assert (lockstep.batches, lockstep.solo) == (1, 3)  # the first runs alone, the second in one batch
    assert _same_files(tmp_path / "r0" / "a.h5", root / "r0" / "a.h5")
    assert _same_files(tmp_path / "r2" / "b.h5", root / "r2" / "b.h5")


def test_a_replica_that_fails_leaves_the_others_running(alone, tmp_path):
    _, energies = alone
    lockstep = Lockstep()
    ctxs = _contexts(tmp_path, lockstep)

    def failing():
        raise RuntimeError("replica 1 failed before its first rod")

    outcomes = lockstep.run([lambda: _replica(ctxs[0], SEEDS[0]), failing, lambda: _replica(ctxs[2], SEEDS[2])])
    assert isinstance(outcomes[1], RuntimeError)
    assert outcomes[0] == energies[0] and outcomes[2] == energies[2]
    assert lockstep.batches == 2
