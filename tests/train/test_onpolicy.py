"""The on-policy loop of the discrete §6 agents (`softq.train.onpolicy`): config validation and
short CartPole runs in which soft Q-learning and A2C both solve the task."""

import pytest

from softq.agents import a2c
from softq.agents import soft_dqn
from softq.train import onpolicy


@pytest.mark.parametrize("make,message", [
    (lambda: onpolicy.LoopConfig(env_name="Pong"), "env"),
    (lambda: onpolicy.LoopConfig(num_updates=150, chunk_updates=100), "num_updates"),
    (lambda: onpolicy.make_train("sac", a2c.Config(), onpolicy.LoopConfig()), "agent_name"),
])
def test_loop_rejects_bad_values(make, message):
  with pytest.raises(ValueError, match=message):
    make()


_CARTPOLE = onpolicy.LoopConfig("CartPole-v1", num_envs=16, rollout_length=8, num_updates=3000,
                                chunk_updates=3000)


@pytest.mark.slow
@pytest.mark.parametrize("agent,config", [
    ("a2c", a2c.Config(hidden=(64, 64), learning_rate=3e-3, tau=0.01)),
    ("soft_dqn", soft_dqn.Config(hidden=(64, 64), learning_rate=1e-3, tau=0.1, n_steps=8,
                                 target_update_period=50, epsilon_updates=1000)),
])
def test_short_cartpole_run_solves_it(agent, config):
  """Mean return over the last 10% of 3000 updates (384k steps per seed, 2 seeds) >= 195."""
  metrics, _, _ = onpolicy.run(agent, config, _CARTPOLE, num_seeds=2, progress=False)
  final = metrics["episode_return"][:, -300:].mean()
  assert final >= 195.0, final
