"""The layering of the package: data flows envs -> replay -> agents -> train -> outputs -> launch,
and no module imports one of a higher layer, nor `experiments` or `benchmarks` (every import
statement is read, including those inside functions)."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "softq"
LAYERS = {
    "types": 0, "losses": 0, "kernels": 0, "distributions": 0, "stein": 0, "langevin": 0,
    "energies": 0, "stats": 0, "aggregates": 0, "policy_fit": 4,
    "envs": 1, "irl": 1,
    "replay": 2, "networks": 2,
    "agents": 3,
    "train": 4, "evaluate": 4,
    "checkpoint": 5, "policy": 5, "logging": 5, "plotting": 5, "benchmark_figures": 5,
    "launch": 6, "cli": 6,
}
MATH = {"losses", "kernels", "stein"}  # import only jax, chex, numpy (static tables) and each other


def _modules():
  for path in sorted(PACKAGE.rglob("*.py")):
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts != ("__init__",):
      yield parts[0], path


def _imports(path):
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      if node.module == "softq":
        yield from (f"softq.{alias.name}" for alias in node.names)
      else:
        yield node.module


def test_every_module_has_a_layer():
  assert {top for top, _ in _modules()} <= set(LAYERS)


@pytest.mark.parametrize("top,path", list(_modules()), ids=lambda x: str(x))
def test_no_module_imports_a_higher_layer(top, path):
  for name in _imports(path):
    assert not name.startswith(("experiments", "benchmarks")), (path, name)
    if name.startswith("softq."):
      target = name.split(".")[1]
      assert LAYERS[target] <= LAYERS[top], f"{path.name} ({top}) imports {name}"
      if top in MATH:
        assert target in MATH | {"distributions"}, f"{path.name} imports {name}"
    elif top in MATH:
      assert name.split(".")[0] in ("jax", "chex", "numpy", "math", "functools", "typing"), (
          path, name)
