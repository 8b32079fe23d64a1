#!/usr/bin/env python3
"""Cross-check of our SAC baseline: Stable-Baselines3 SAC on Gymnasium's MuJoCo task.

Settings as configs/sac_<task>.json: 5000 uniform random steps, one update per env step, batch 256,
lr 3e-4, 2x256 ReLU, gamma 0.99, tau 0.005, learned temperature (init 1) with the given target
entropy (default "auto" = -act_dim; configs/sac_hopper.json uses -1, so pass --target-entropy -1 to
match it); deterministic evaluation of 3 episodes every --eval-every env steps.

Needs a venv with stable-baselines3 and gymnasium[mujoco] (not part of the build; pip also pulls a
newer torch, as Debian's 1.13.0a0 counts as a pre-release):
    python3 -m venv --system-site-packages build/sb3 &&
    build/sb3/bin/pip install stable-baselines3==2.3.2 "gymnasium[mujoco]==0.29.1"
    build/sb3/bin/python scripts/sb3_sac_reference.py --env Hopper-v4 --seed 0 --steps 100000
Prints one JSON line per evaluation: env_step, eval_return, wall_time.
"""
import argparse
import json
import sys
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback


class Evaluate(BaseCallback):
    def __init__(self, env, every, episodes, seed):
        super().__init__()
        self.env, self.every, self.episodes, self.seed = env, every, episodes, seed
        self.start = time.time()

    def _on_step(self):
        if self.num_timesteps % self.every == 0:
            returns = []
            for i in range(self.episodes):
                obs, _ = self.env.reset(seed=self.seed * 1000 + self.num_timesteps + i)
                done, total = False, 0.0
                while not done:
                    act, _ = self.model.predict(obs, deterministic=True)
                    obs, r, term, trunc, _ = self.env.step(act)
                    total += r
                    done = term or trunc
                returns.append(total)
            print(json.dumps({"env_step": self.num_timesteps,
                              "eval_return": float(np.mean(returns)),
                              "wall_time": time.time() - self.start}), flush=True)
        return True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--env", default="Hopper-v4")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=100000)
    p.add_argument("--target-entropy", default="auto")
    p.add_argument("--eval-every", type=int, default=5000)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    target = a.target_entropy if a.target_entropy == "auto" else float(a.target_entropy)
    model = SAC("MlpPolicy", gym.make(a.env), learning_starts=5000, batch_size=256,
                learning_rate=3e-4, gamma=0.99, tau=0.005, train_freq=1, gradient_steps=1,
                ent_coef="auto_1.0", target_entropy=target, seed=a.seed, device="cpu",
                policy_kwargs={"net_arch": [256, 256]})
    model.learn(a.steps, callback=Evaluate(gym.make(a.env), a.eval_every, 3, a.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
