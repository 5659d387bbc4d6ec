"""Replicas batched in one kernel call: each replica's file is the file its run alone writes,
bit for bit, and a batch stopped at its wall-time limit resumes from its one checkpoint."""

import dataclasses
import time

import h5py
import numpy as np
import pytest

from sim.rod.runner import simulate
from sim.scenario import RunContext
from sim.simulation import WalltimeReached

SEEDS = [3, 9, 27]


def _contents(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in f.keys()}, {k: f.attrs[k] for k in ("params", "status")}


def _same(a, b):
    (da, attrs_a), (db, attrs_b) = _contents(a), _contents(b)
    assert da.keys() == db.keys() and attrs_a == attrs_b
    for k in da:
        assert np.array_equal(da[k], db[k]), k


@pytest.mark.parametrize("case", [dict(K=5.0), dict(K=0.0, g=0.5)])
def test_each_replica_file_is_what_its_run_alone_writes(rod_params, tmp_path, case):
    params = rod_params(N=6, noise=True, **case)
    batch = [tmp_path / f"batch_r{r}.h5" for r in range(len(SEEDS))]
    simulate(params, 3000, 100, path=batch, progress=False, seeds=SEEDS)
    for r, seed in enumerate(SEEDS):
        alone = tmp_path / f"alone_r{r}.h5"
        simulate(dataclasses.replace(params, seed=seed), 3000, 100, path=alone, progress=False)
        _same(batch[r], alone)
    assert not np.array_equal(_contents(batch[0])[0]["T"], _contents(batch[1])[0]["T"])  # the replicas differ


def test_a_batch_stopped_at_its_wall_time_resumes_bit_identically(rod_params, tmp_path):
    params = rod_params(N=6, noise=True)
    whole = [tmp_path / f"whole_r{r}.h5" for r in range(len(SEEDS))]
    simulate(params, 6000, 100, path=whole, progress=False, seeds=SEEDS)
    cut = [tmp_path / f"cut_r{r}.h5" for r in range(len(SEEDS))]
    ctx = RunContext(out_dir=tmp_path, quiet=True, checkpoint_every=500, deadline=time.monotonic())
    with pytest.raises(WalltimeReached):
        simulate(params, 6000, 100, path=cut, progress=False, seeds=SEEDS, ctx=ctx)
    assert cut[0].with_suffix(".ckpt.npz").exists()
    with h5py.File(cut[1], "r") as f:
        assert f.attrs["status"] == "walltime" and 0 < f["T"].shape[0] < 61
    ctx = RunContext(out_dir=tmp_path, quiet=True, checkpoint_every=500, resume=True)
    simulate(params, 6000, 100, path=cut, progress=False, seeds=SEEDS, ctx=ctx)
    for a, b in zip(whole, cut):
        _same(a, b)
    assert not cut[0].with_suffix(".ckpt.npz").exists()
    # resumed again: every file is complete, nothing runs
    assert simulate(params, 6000, 100, path=cut, progress=False, seeds=SEEDS, ctx=ctx).state is None


def test_a_runaway_in_a_batch_names_its_replica(rod_params):
    """Temperatures separating in one replica stop the batch, and the message says which."""
    from sim.rod.system import Rod
    from sim.simulation import RunawayError

    rod = Rod(rod_params(N=6, runaway_dT=0.5), seeds=SEEDS)
    state = rod.initial_state()
    rod.check_runaway(state)  # all uniform: nothing to report
    state.E[0, 1] *= 2.0  # replica 1's first ring twice as hot
    with pytest.raises(RunawayError, match=r"ring temperatures of replica 1 \(seed 9\) separate"):
        rod.check_runaway(state)
