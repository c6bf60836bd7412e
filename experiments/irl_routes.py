"""Table 1 and Figure 3 analogue of MaxEnt IRL (§5.4): route prediction on a real network.

    python -m experiments.irl_routes --network ingolstadt21 --out runs/irl_routes

Synthesises noisy MaxEnt trips on a SUMO road network bundled with `sumo-rl` (§5.6), fits
MaxEnt IRL, the action-based model and max-margin planning, and writes `results.json` (distance
match %, >= 90 % match %, mean test log-probability per model; learned weights) plus
`costs.png` (learned cost weights, Figure 3 analogue) and `routes.png` (one held-out route).
"""

import dataclasses
import json
import os

from absl import flags

from experiments import irl_common
from softq import cli, launch

FLAGS = flags.FLAGS
flags.adopt_module_key_flags(irl_common)
launch.define_output("runs/irl_routes")


def main(argv):
  del argv
  config, out = irl_common.study_config()
  from softq.irl import study
  from tqdm import tqdm
  progress = tqdm(total=3, desc="irl_routes")
  graph, train, test = study.prepare(config)
  progress.update()
  thetas = study.fit_models(graph, train, config)
  progress.update()
  table = study.route_table(graph, test, thetas, config.horizon)
  progress.update()
  progress.close()
  results = {**launch.results_core("irl_routes"),
      "network": config.network, "segments": graph.num_states,
      "transitions": int(graph.src.shape[0]), "train_trips": int(train.shape[0]),
      "test_trips": int(test.shape[0]), "config": dataclasses.asdict(config),
      "table": table, "feature_names": list(graph.feature_names),
      "weights": {name: [float(v) for v in theta] for name, theta in thetas.items()},
  }
  with open(os.path.join(out, "results.json"), "w") as handle:
    json.dump(results, handle, indent=2)
  _plot(graph, test, thetas, config.horizon, results, out)
  for name, row in table.items():
    print(f"{name:13s} " + "  ".join(f"{k}={v:.2f}" if v is not None else f"{k}=n/a"
                                    for k, v in row.items()))


def _plot(graph, test, thetas, horizon, results, out):
  """`costs.png` (learned weights per feature) and `routes.png` (one held-out route)."""
  import jax.numpy as jnp
  import numpy as np
  from softq import plotting
  from softq.irl import graph as graph_lib, paths

  models = {"true_theta": "true θ (generating)", "maxent": "MaxEnt IRL",
            "action_based": "action-based", "max_margin": "max-margin planning"}
  plotting.cost_weights_figure(
      os.path.join(out, "costs.png"), results["feature_names"],
      {label: thetas[model] for model, label in models.items()},
      f"Learned costs on {results['network']} (Figure 3 analogue)")

  route = np.asarray(test[0])
  route = route[route >= 0]
  predictions = {}
  for model, label in (("maxent", "MaxEnt IRL"), ("time_based", "fastest (travel time)")):
    if model == "time_based":
      reward, edge_reward = -graph.travel_time_min, np.zeros(graph.src.shape[0], np.float32)
    else:
      reward, edge_reward = graph_lib.rewards(graph, thetas[model])
    guess = np.asarray(paths.most_likely_path_jit(
        jnp.asarray(graph.src), jnp.asarray(graph.dst), jnp.asarray(reward),
        jnp.asarray(edge_reward), int(route[0]), int(route[-1]), horizon))
    predictions[label] = guess[guess >= 0]
  plotting.route_figure(os.path.join(out, "routes.png"), graph.xy, route, predictions,
                        f"A held-out route on {results['network']} and predictions")


if __name__ == "__main__":
  cli.run(main)
