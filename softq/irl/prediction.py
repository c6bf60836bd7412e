"""Route-prediction metrics (Table 1) and destination posteriors from partial routes (§5.4, §5.5).

Metrics are host-side numpy on padded paths (`-1` after the destination).
"""

import jax
import jax.numpy as jnp
import numpy as np

from softq.irl import inference


def distance_match(predicted, observed, length_km):
  """Fraction of each observed route's distance that the predicted route shares (§5.4 (a)).

  Args:
    predicted: `[T, L1]` padded paths.
    observed: `[T, L2]` padded paths.
    length_km: `[S]`.
  Returns:
    `[T]` in `[0, 1]`.
  """
  shares = []
  for guess, truth in zip(np.asarray(predicted), np.asarray(observed)):
    truth = np.unique(truth[truth >= 0])
    shared = np.intersect1d(truth, guess[guess >= 0])
    shares.append(length_km[shared].sum() / length_km[truth].sum())
  return np.array(shares)


def route_metrics(predicted, observed, length_km, log_probs=None):
  """Table-1 row: distance match %, % of routes with >= 90 % match, mean test log-probability.

  Args:
    predicted, observed: `[T, L]` padded paths.
    length_km: `[S]`.
    log_probs: optional `[T]` log-probabilities of the observed routes under the model.
  Returns:
    dict with `distance_match_pct`, `match90_pct`, `mean_log_prob` (None if not given).
  """
  match = distance_match(predicted, observed, length_km)
  return {
      "distance_match_pct": float(100 * match.mean()),
      "match90_pct": float(100 * np.mean(match >= 0.9)),
      "mean_log_prob": None if log_probs is None else float(np.mean(log_probs)),
  }


def destination_log_posterior_core(histories, candidates, log_prior, prefix, observed: int):
  """`log P(dest | route prefix A -> B)` over candidate destinations (§5.5).

  `P(dest | ζ_{A→B}) ∝ P(dest) Z^{(N-k)}_{B→dest} / Z^{(N)}_{A→dest}` for a prefix of `k`
  transitions (the prefix's own reward cancels); a candidate the prefix already passed through
  (destinations are absorbing) gets probability 0.

  Args:
    histories: `[C, N + 1, S]`, `inference.history_core` of each candidate destination.
    candidates: `[C]` int candidate destinations.
    log_prior: `[C]`.
    prefix: `[L]` padded route; its first `observed` states (A ... B) are seen, `observed >= 1`.
    observed: number of observed states (traced int allowed).
  Returns:
    `[C]`, normalised log-probabilities.
  """
  horizon = histories.shape[1] - 1
  origin, current = prefix[0], prefix[observed - 1]
  seen = jnp.arange(prefix.shape[0]) < observed - 1
  passed = jnp.any(seen[None, :] & (prefix[None, :] == candidates[:, None]), axis=1)
  remaining = histories[:, horizon - (observed - 1), current]
  logits = log_prior + remaining - histories[:, horizon, origin]
  logits = jnp.where(passed | ~jnp.isfinite(remaining), -jnp.inf, logits)
  return logits - jax.nn.logsumexp(logits)


def destination_histories(src, dst, state_reward, edge_reward, candidates, horizon: int):
  """`[C, N + 1, S]` backward histories of the candidate destinations `[C]` (§5.2)."""
  return _histories(jnp.asarray(src), jnp.asarray(dst), jnp.asarray(state_reward),
                    jnp.asarray(edge_reward), jnp.asarray(candidates), horizon)


_histories = jax.jit(jax.vmap(inference.history_core, in_axes=(None, None, None, None, 0, None)),
                     static_argnames="horizon")
destination_log_posteriors = jax.jit(jax.vmap(
    jax.vmap(destination_log_posterior_core, in_axes=(None, None, None, None, 0)),
    in_axes=(None, None, None, 0, 0)))
