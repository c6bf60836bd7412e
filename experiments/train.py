"""General launcher: any continuous agent on any environment, seeds and a sweep in one program.

  python -m experiments.train --algo sql --env halfcheetah --backend spring --seeds 4 \
      --sweep alpha=0.1,0.2,0.5 --steps 100000 --out runs/hc_sql --checkpoint_every 10000
  python -m experiments.train --resume runs/hc_sql --algo sql --env halfcheetah \
      --backend spring --seeds 4 --sweep alpha=0.1,0.2,0.5 --steps 200000   # continue it

Runs `R = seeds x sweep values` independent runs in one compiled program (`softq.train.train`),
sharded over all devices. Every flag of the agent's Config is a flag here (`--critic_hidden
64,64`, `--alpha 0.5`, ...). Writes DIR/results.json, DIR/metrics.csv, DIR/tensorboard/,
DIR/learning_curve.png, DIR/policy/ (`softq.policy.load(DIR)`) and DIR/checkpoints/ (orbax).

Multi-host (e.g. a SLURM job with one process per host): add --distributed; JAX's runtime
(`jax.distributed.initialize`, CPU collectives over gloo) takes the coordinator, process count
and id from --coordinator/--num_processes/--process_id or from the SLURM / Open MPI environment;
every process runs the same command and the run axis is sharded over all hosts' devices.
"""

from softq import cli, launch

APP = launch.App(name="train", algos=("sql", "ddpg", "sac", "s2ac"), default_algo="sql")
launch.define(APP)

if __name__ == "__main__":
  cli.run(lambda argv: launch.main(APP))
