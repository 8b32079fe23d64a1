"""Reads an mbrl dataset with h5py and checks the Minari layout. Usage: check_dataset.py DIR"""
import json
import sys

import h5py
import numpy as np

d = sys.argv[1]
meta = json.load(open(d + "/metadata.json"))
with h5py.File(d + "/data/main_data.hdf5", "r") as f:
    n = int(f.attrs["total_episodes"])
    assert n == meta["total_episodes"] > 0, (n, meta["total_episodes"])
    obs_dim, act_dim = meta["observation_space"]["shape"][0], meta["action_space"]["shape"][0]
    for k in ("action_low", "action_high"):
        assert f.attrs[k].shape == (act_dim,), (k, f.attrs[k].shape)
    steps = 0
    for i in range(n):
        g = f["episode_%d" % i]
        t = g["actions"].shape[0]
        assert g["observations"].shape == (t + 1, obs_dim), g["observations"].shape
        assert g["actions"].shape == (t, act_dim)
        assert g["rewards"].shape == (t,)
        for k in ("terminations", "truncations"):
            assert g[k].dtype == np.bool_, (k, g[k].dtype)
            assert g[k].shape == (t,)
        assert g["truncations"][-1] or g["terminations"][-1], "episode must end"
        assert not g["terminations"][:-1].any() and not g["truncations"][:-1].any()
        assert g["observations"].dtype == np.float32
        steps += t
    assert steps == meta["total_steps"] == int(f.attrs["total_steps"])
print("ok", n, steps)
