"""Reads an mbrl dataset with h5py and checks the Minari layout. Usage: check_dataset.py ROOT
(ROOT: a run's dataset folder, a Minari datasets root holding one dataset <id>/data/)"""
import glob
import json
import sys

import h5py
import numpy as np

(data,) = glob.glob(sys.argv[1] + "/**/data/main_data.hdf5", recursive=True)
meta = json.load(open(data.replace("main_data.hdf5", "metadata.json")))
assert meta["data_format"] == "hdf5" and meta["minari_version"].startswith("0.5")
obs_space, act_space = json.loads(meta["observation_space"]), json.loads(meta["action_space"])
with h5py.File(data, "r") as f:
    n = int(f.attrs["total_episodes"])
    assert n == meta["total_episodes"] > 0, (n, meta["total_episodes"])
    ds_id = f.attrs["dataset_id"]
    ds_id = ds_id.decode() if isinstance(ds_id, bytes) else ds_id
    assert ds_id == meta["dataset_id"], (ds_id, meta["dataset_id"])
    assert data.endswith(meta["dataset_id"] + "/data/main_data.hdf5"), data
    obs_dim, act_dim = obs_space["shape"][0], act_space["shape"][0]
    for k in ("action_low", "action_high"):
        assert f.attrs[k].shape == (act_dim,), (k, f.attrs[k].shape)
    steps = 0
    for i in range(n):
        g = f["episode_%d" % i]
        t = g["actions"].shape[0]
        assert g["observations"].shape == (t + 1, obs_dim), g["observations"].shape
        assert g["actions"].shape == (t, act_dim)
        assert g["rewards"].shape == (t,)
        assert "infos" in g
        for k in ("terminations", "truncations"):
            assert g[k].dtype == np.bool_, (k, g[k].dtype)
            assert g[k].shape == (t,)
        assert g["truncations"][-1] or g["terminations"][-1], "episode must end"
        assert not g["terminations"][:-1].any() and not g["truncations"][:-1].any()
        assert g["observations"].dtype == np.float32
        steps += t
    assert steps == meta["total_steps"] == int(f.attrs["total_steps"])
print("ok", n, steps)
