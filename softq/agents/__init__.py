"""One module per algorithm, each following the agent protocol of `base` (`Config`, `TrainState`,
`init`, `update`, `act`, `q_values`, `SWEEPABLE`, `KIND`).

`AGENTS` maps the command-line names to the modules, each checked by `base.check_agent`:
`CONTINUOUS` (off-policy, replay, `softq.train`: SQL §2, DDPG §2.9, SAC §3.8, S2AC §3) and
`DISCRETE` (on-policy rollouts on gymnax, `softq.train.onpolicy`: A2C §6.3, soft DQN §6.2,
matched soft Q §6.5).
"""

from softq.agents import a2c, base, ddpg, matched, s2ac, sac, soft_dqn, sql

AGENTS = {name: base.check_agent(module) for name, module in (
    ("sql", sql), ("ddpg", ddpg), ("sac", sac), ("s2ac", s2ac),
    ("a2c", a2c), ("soft_dqn", soft_dqn), ("matched", matched))}
CONTINUOUS = tuple(name for name, module in AGENTS.items() if module.KIND == "continuous")
DISCRETE = tuple(name for name, module in AGENTS.items() if module.KIND == "discrete")
