"""Road graphs as edge lists with Ziebart-style features; a synthetic grid city (§5.1, §5.6).

States are directed road segments, transitions are allowed moves from one segment to the next.
State features (per segment): travel time, length per road class, multi-lane, a constant;
transition features: left turn, right turn, U-turn (straight is the baseline). Rewards are
`r = F θ_state`, `w = G θ_edge`, `θ = concat(θ_state, θ_edge)`.
"""

import dataclasses

import numpy as np

ROAD_CLASSES = ("motorway", "primary", "secondary", "tertiary", "residential")
TURNS = ("straight", "left", "right", "u-turn")
STATE_FEATURES = ("travel time [min]",) + tuple(f"km {c}" for c in ROAD_CLASSES) + (
    "multi-lane", "constant")
EDGE_FEATURES = ("left turn", "right turn", "u-turn")


@dataclasses.dataclass(frozen=True)
class RoadGraph:
  """A road network as an edge list (host-side numpy arrays).

  Attributes:
    name: human-readable name.
    src, dst: `[E]` int transitions (segment -> next segment), no duplicates.
    state_features: `[S, K]` float.
    edge_features: `[E, Ke]` float.
    length_km: `[S]` segment lengths (distance-match metric, §5.4).
    travel_time_min: `[S]` free-flow travel times (time-based baseline, §5.4).
    xy: `[S, 2]` segment midpoints (plots).
  """
  name: str
  src: np.ndarray
  dst: np.ndarray
  state_features: np.ndarray
  edge_features: np.ndarray
  length_km: np.ndarray
  travel_time_min: np.ndarray
  xy: np.ndarray

  def __post_init__(self):
    num_states, num_edges = self.state_features.shape[0], self.src.shape[0]
    if num_states < 2 or num_edges < 1:
      raise ValueError(f"RoadGraph needs >= 2 states and >= 1 transition, got S={num_states}, "
                       f"E={num_edges}")
    if self.dst.shape != (num_edges,) or self.edge_features.shape[0] != num_edges:
      raise ValueError("RoadGraph: src, dst and edge_features must share the length E")
    for field in ("length_km", "travel_time_min", "xy"):
      if getattr(self, field).shape[0] != num_states:
        raise ValueError(f"RoadGraph.{field} must have S={num_states} rows")
    if min(self.src.min(), self.dst.min()) < 0 or max(self.src.max(), self.dst.max()) >= num_states:
      raise ValueError(f"RoadGraph: transition endpoints must lie in [0, {num_states})")

  @property
  def num_states(self) -> int:
    return self.state_features.shape[0]

  @property
  def num_features(self) -> int:
    """`K + Ke`, the length of θ."""
    return self.state_features.shape[1] + self.edge_features.shape[1]

  @property
  def feature_names(self) -> tuple:
    return STATE_FEATURES + EDGE_FEATURES


def rewards(graph: RoadGraph, theta):
  """State and transition rewards `(F θ_s [S], G θ_e [E])` for `θ` of length `K + Ke` (§5.1)."""
  split = graph.state_features.shape[1]
  return graph.state_features @ theta[:split], graph.edge_features @ theta[split:]


def build(name, length_km, speed_kmh, lanes, road_class, src, dst, turn, xy) -> RoadGraph:
  """Assembles a `RoadGraph` from per-segment attributes and per-transition turn types.

  Args:
    name: str.
    length_km, speed_kmh, lanes: `[S]`.
    road_class: `[S]` int index into `ROAD_CLASSES`.
    src, dst: `[E]` int.
    turn: `[E]` int index into `TURNS`.
    xy: `[S, 2]`.
  Returns:
    the graph with float32 features.
  """
  time_min = 60.0 * length_km / speed_kmh
  per_class = length_km[:, None] * np.eye(len(ROAD_CLASSES))[road_class]
  state_features = np.column_stack(
      [time_min, per_class, (lanes >= 2).astype(float), np.ones_like(length_km)])
  edge_features = np.eye(len(TURNS))[turn][:, 1:]
  return RoadGraph(name=name, src=src.astype(np.int32), dst=dst.astype(np.int32),
                   state_features=state_features.astype(np.float32),
                   edge_features=edge_features.astype(np.float32),
                   length_km=length_km.astype(np.float32),
                   travel_time_min=time_min.astype(np.float32), xy=xy.astype(np.float32))


def grid_city(side: int, seed: int = 0) -> RoadGraph:
  """A synthetic grid city: `side x side` intersections, two-way streets, no U-turns.

  `4 side (side - 1)` segments and about three transitions each (`side = 275` gives 301 400
  segments and ~900 000 transitions, the scale of the paper's Pittsburgh network). Every 8th
  street is primary, every 4th secondary, every other tertiary, the rest residential; block
  lengths vary +-20 %.

  Args:
    side: intersections per side, >= 2.
    seed: block-length jitter seed.
  Returns:
    `RoadGraph`.
  """
  if not isinstance(side, int) or side < 2:
    raise ValueError(f"grid_city: side must be an int >= 2, got {side!r}")
  rng = np.random.default_rng(seed)
  node = np.arange(side * side).reshape(side, side)
  # Directions 0: +column, 1: +row, 2: -column, 3: -row; (k + 1) % 4 is a left turn.
  steps = ((0, 1), (1, 0), (0, -1), (-1, 0))
  starts, ends, dirs, streets = [], [], [], []
  for k, (di, dj) in enumerate(steps):
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    ok = (i + di >= 0) & (i + di < side) & (j + dj >= 0) & (j + dj < side)
    starts.append(node[i[ok], j[ok]])
    ends.append(node[i[ok] + di, j[ok] + dj])
    dirs.append(np.full(ok.sum(), k))
    streets.append(np.where(k % 2 == 0, i[ok], j[ok]))  # the row / column the street runs along
  start, end, direction, street = map(np.concatenate, (starts, ends, dirs, streets))
  num_segments = start.shape[0]
  by_node_dir = np.full((side * side, 4), -1)
  by_node_dir[start, direction] = np.arange(num_segments)
  nxt_dir = (direction[:, None] + np.array([0, 1, 3])[None, :]) % 4  # straight, left, right
  nxt = by_node_dir[end[:, None], nxt_dir]
  ok = nxt >= 0
  src = np.broadcast_to(np.arange(num_segments)[:, None], nxt.shape)[ok]
  dst = nxt[ok]
  turn = np.broadcast_to(np.array([0, 1, 2])[None, :], nxt.shape)[ok]
  road_class = np.select([street % 8 == 0, street % 4 == 0, street % 2 == 0], [1, 2, 3], 4)
  speed = np.array([100.0, 60.0, 50.0, 40.0, 30.0])[road_class]
  lanes = np.where(road_class <= 2, 2, 1)
  length = 0.1 * rng.uniform(0.8, 1.2, num_segments)
  rows, cols = np.divmod(np.stack([start, end]), side)
  xy = np.stack([cols.mean(0), rows.mean(0)], axis=1)
  return build(f"grid{side}", length, speed, lanes, road_class, src, dst, turn, xy)
