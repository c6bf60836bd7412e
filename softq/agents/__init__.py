"""One module per algorithm, each with `Config`, `TrainState`, `init`, `update`, `act`.

`AGENTS` maps the command-line names to the modules.
"""

from softq.agents import ddpg, s2ac, sac, sql

AGENTS = {"sql": sql, "ddpg": ddpg, "sac": sac, "s2ac": s2ac}
