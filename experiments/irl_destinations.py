"""Destination prediction from partial routes (§5.5; Figures 4–5 analogue of Ziebart et al. 2008).

    python -m experiments.irl_destinations --network ingolstadt21 --out runs/irl_destinations

Trips end at one of 5 destinations spread over a SUMO network bundled with `sumo-rl`; MaxEnt
IRL is fitted on the training trips, the destination prior is their empirical frequency, and
`P(dest | A -> B) ∝ P(dest) Z_{B→dest} / Z_{A→dest}` is evaluated on held-out trips after each
observed fraction of the route. Writes `results.json` (accuracy vs fraction for the learned θ,
the true θ and the prior alone), `accuracy.png` (Figure 5) and `posterior.png` (Figure 4).
"""

import dataclasses
import json
import os

from absl import flags

from experiments import irl_common
from softq import cli, launch

FLAGS = flags.FLAGS
flags.adopt_module_key_flags(irl_common)
launch.define_output("runs/irl_destinations")

FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
PRIOR = (0.3, 0.25, 0.2, 0.15, 0.1)


def main(argv):
  del argv
  config, out = irl_common.study_config()
  from softq.irl import data, study
  import jax.numpy as jnp
  import numpy as np
  from tqdm import tqdm
  from softq.irl import graph as graph_lib, learning, prediction

  progress = tqdm(total=3, desc="irl_destinations")
  graph = data.load_sumo(config.network)
  candidates = _spread_out(graph.xy, len(PRIOR))
  graph, train, test = study.prepare(config, destinations=(candidates, np.array(PRIOR)))
  progress.update()
  theta, _ = learning.fit(graph, train, learning.FitConfig(
      method="gradient", steps=config.steps, learning_rate=study.LEARNING_RATE,
      horizon=config.horizon))
  progress.update()
  train_ends = np.asarray([row[row >= 0][-1] for row in train])
  prior = np.array([(train_ends == c).sum() + 1.0 for c in candidates])
  log_prior = jnp.log(jnp.asarray(prior / prior.sum()))
  test_ends = np.asarray([row[row >= 0][-1] for row in test])
  truth = np.array([candidates.tolist().index(end) for end in test_ends])
  lengths = (test >= 0).sum(1)
  observed = np.maximum(1, np.ceil(np.outer(lengths, FRACTIONS))).astype(np.int32)
  accuracy, example = {}, None
  for name, weights in (("maxent", np.asarray(theta)), ("true_theta", data.TRUE_THETA)):
    reward, edge_reward = graph_lib.rewards(graph, weights)
    histories = prediction.destination_histories(graph.src, graph.dst, reward, edge_reward,
                                                 candidates, config.horizon)
    posterior = np.exp(np.asarray(prediction.destination_log_posteriors(
        histories, jnp.asarray(candidates), log_prior, jnp.asarray(test),
        jnp.asarray(observed))))  # [T, F, C]
    accuracy[name] = [float(v) for v in 100 * (posterior.argmax(-1) == truth[:, None]).mean(0)]
    if name == "maxent":
      example = posterior[0, FRACTIONS.index(0.5)]
  accuracy["prior_only"] = [float(100 * np.mean(truth == prior.argmax()))] * len(FRACTIONS)
  progress.update()
  progress.close()
  results = {**launch.results_core("irl_destinations"), "network": config.network,
             "config": dataclasses.asdict(config),
             "destinations": candidates.tolist(), "true_prior": list(PRIOR),
             "fractions": list(FRACTIONS), "accuracy_pct": accuracy,
             "train_trips": int(train.shape[0]), "test_trips": int(test.shape[0]),
             "learned_theta": [float(v) for v in theta]}
  with open(os.path.join(out, "results.json"), "w") as handle:
    json.dump(results, handle, indent=2)
  _plot(graph, test, candidates, example, observed, results, out)
  for name, row in accuracy.items():
    print(f"{name:11s} " + " ".join(f"{v:5.1f}" for v in row))


def _spread_out(xy, count):
  """`count` states far apart (farthest-point sampling from the state nearest the centre)."""
  import numpy as np
  chosen = [int(np.argmin(((xy - xy.mean(0)) ** 2).sum(1)))]
  for _ in range(count - 1):
    distance = np.min(((xy[:, None, :] - xy[chosen][None]) ** 2).sum(-1), axis=1)
    chosen.append(int(np.argmax(distance)))
  return np.array(chosen)


def _plot(graph, test, candidates, example, observed, results, out):
  """`accuracy.png` (Figure 5) and `posterior.png` (Figure 4: one partial route)."""
  import numpy as np
  from softq import plotting

  labels = {"maxent": "MaxEnt IRL θ", "true_theta": "true θ", "prior_only": "prior only"}
  plotting.destination_accuracy_figure(
      os.path.join(out, "accuracy.png"), results["fractions"],
      {labels.get(name, name): row for name, row in results["accuracy_pct"].items()},
      results["test_trips"],
      f"Destination accuracy, {len(candidates)} candidates ({results['network']})",
      chance=100 / len(candidates))

  route = np.asarray(test[0])
  route = route[route >= 0]
  seen = route[: observed[0, results["fractions"].index(0.5)]]
  plotting.destination_posterior_figure(
      os.path.join(out, "posterior.png"), graph.xy, seen, candidates, example,
      f"Destination posterior after half of a held-out route ({results['network']})",
      true_destination=int(route[-1]))


if __name__ == "__main__":
  cli.run(main)
