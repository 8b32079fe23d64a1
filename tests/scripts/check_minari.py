"""Opens an mbrl run's dataset with PyPI's minari, as written (no conversion), and compares it with
what mbrl read from the same run. Usage: check_minari.py DATASETS_ROOT EXPECTED.json
EXPECTED: {"id", "twin" (Gymnasium id or ""), "episodes": [{"length", "return", "obs0", "last_action",
"terminated"}]}"""
import json
import os
import sys

root, expected_path = sys.argv[1:]
os.environ["MINARI_DATASETS_PATH"] = root
import gymnasium as gym  # noqa: E402
import minari  # noqa: E402
import numpy as np  # noqa: E402

want = json.load(open(expected_path))
listed = minari.list_local_datasets()
assert want["id"] in listed, (want["id"], list(listed))
ds = minari.load_dataset(want["id"])
eps = want["episodes"]
assert ds.total_episodes == len(eps), (ds.total_episodes, len(eps))
assert ds.total_steps == sum(e["length"] for e in eps), ds.total_steps
for ep, w in zip(ds.iterate_episodes(), eps):
    t = w["length"]
    assert ep.observations.shape == (t + 1, len(w["obs0"])), ep.observations.shape
    assert ep.actions.shape == (t, len(w["last_action"])), ep.actions.shape
    assert ep.observations.dtype == np.float32 and ep.terminations.dtype == np.bool_
    np.testing.assert_array_equal(ep.observations[0], np.float32(w["obs0"]))
    np.testing.assert_array_equal(ep.actions[-1], np.float32(w["last_action"]))
    assert abs(float(ep.rewards.sum()) - w["return"]) < 1e-9, (ep.rewards.sum(), w["return"])
    assert bool(ep.terminations[-1]) == w["terminated"]
    assert ds.observation_space.contains(ep.observations[0])
    assert ds.action_space.contains(ep.actions[-1])
sample = ds.sample_episodes(2)
assert len(sample) == 2 and all(e.actions.shape[0] > 0 for e in sample)
if want["twin"]:
    env = ds.recover_environment()
    assert env.spec.id == want["twin"], env.spec.id
    assert env.spec.to_json() == gym.spec(want["twin"]).to_json(), env.spec.to_json()
    obs, _ = env.reset(seed=0)
    assert obs.shape == ds.observation_space.shape, (obs.shape, ds.observation_space.shape)
    env.step(env.action_space.sample())
print("ok", ds.total_episodes, ds.total_steps, want["twin"] or "no twin")
