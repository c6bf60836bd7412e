"""Flags and input checks shared by the MaxEnt IRL apps `irl_routes` and `irl_destinations` (§5)."""

from absl import flags

from softq import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("network", "ingolstadt21", "SUMO network bundled with sumo-rl (listed by "
                    "--help) or a path to a .net.xml file")
flags.DEFINE_integer("trips", 400, "synthetic trips, >= 10")
flags.DEFINE_float("test_fraction", 0.3, "held-out share of trips, in (0, 1)")
flags.DEFINE_float("noise", 0.3, "per-driver relative noise on the true weights, >= 0")
flags.DEFINE_integer("horizon", 80, "most transitions per route, >= 2")
flags.DEFINE_integer("steps", 200, "optimisation steps per model, >= 1")
flags.DEFINE_integer("seed", 0, "data seed")


def study_config():
  """`(StudyConfig, out_dir)` from the flags; a bad value is one line and exit code 2.

  Checks the config's ranges, that the network can be read and that `--out` is writable, before
  anything is compiled.
  """
  from softq.irl import data, study  # after flag parsing; no compilation happens on import
  try:
    config = study.StudyConfig(network=FLAGS.network, trips=FLAGS.trips,
                               test_fraction=FLAGS.test_fraction, noise=FLAGS.noise,
                               horizon=FLAGS.horizon, steps=FLAGS.steps, seed=FLAGS.seed)
    data.load_sumo(config.network)  # parsed (and cached) now, so a bad file is one line
  except ValueError as error:
    cli.fail(str(error))
  from softq import launch
  return config, launch.output_dir()
