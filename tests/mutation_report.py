"""The survival table of `make mutants`: per mutated module, how many mutmut mutants the fast
suite killed, how many survived, and which survivors are not listed as equivalent.

Reads mutmut's results (`mutants/**/*.py.meta`) and `tests/mutants_equivalent.txt` (one mutant
name per line followed by the reason it cannot change behaviour). Prints a Markdown table and
the unexplained survivors; `--json FILE` also writes the counts.

  python tests/mutation_report.py [--json FILE]
"""

import argparse
import collections
import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "tests" / "mutants_equivalent.txt"

# mutmut's exit-code convention (mutmut.stats.status_by_exit_code, 3.x).
STATUS = {0: "survived", 1: "killed", 3: "killed", 5: "no tests", 33: "no tests",
          34: "skipped", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout",
          255: "timeout", None: "not checked"}


def equivalent_mutants() -> dict[str, str]:
  """`{mutant name: reason}` from the equivalence list (`#` starts a comment line)."""
  if not EQUIVALENT.exists():
    return {}
  listed = {}
  for line in EQUIVALENT.read_text().splitlines():
    line = line.strip()
    if line and not line.startswith("#"):
      name, _, reason = line.partition(" ")
      listed[name] = reason.strip()
  return listed


def collect(mutants_dir: pathlib.Path) -> tuple[dict, list[str]]:
  """Counts per module and the names of survivors not listed as equivalent."""
  equivalent = equivalent_mutants()
  counts = collections.defaultdict(collections.Counter)
  unexplained = []
  for meta in sorted(mutants_dir.rglob("*.py.meta")):
    module = str(meta.relative_to(mutants_dir))[:-len(".meta")]
    for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
      status = STATUS.get(code, "suspicious")
      if status == "survived" and name in equivalent:
        status = "equivalent"
      counts[module][status] += 1
      if status in ("survived", "no tests"):
        unexplained.append(f"{name}: {status}")
  return counts, unexplained


def table(counts: dict) -> str:
  columns = ("killed", "survived", "equivalent", "no tests", "timeout", "suspicious",
             "not checked")
  lines = ["| module | mutants | " + " | ".join(columns) + " | survival |",
           "|---|---:|" + "---:|" * len(columns) + "---:|"]
  total = collections.Counter()
  for module, c in sorted(counts.items()):
    total.update(c)
    lines.append(_row(module, c, columns))
  lines.append(_row("**all**", total, columns))
  return "\n".join(lines)


def _row(name, c, columns) -> str:
  n = sum(c.values())
  checked = n - c["not checked"]
  alive = c["survived"] + c["no tests"]
  survival = f"{100.0 * alive / checked:.1f} %" if checked else "—"
  return f"| {name} | {n} | " + " | ".join(str(c[k]) for k in columns) + f" | {survival} |"


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--json", help="also write the counts to this file")
  args = parser.parse_args()
  mutants_dir = ROOT / "mutants"
  if not mutants_dir.is_dir():
    print(f"no mutmut results in {mutants_dir}; run `make mutants` first", file=sys.stderr)
    return 2
  counts, unexplained = collect(mutants_dir)
  print(table(counts))
  print("\nsurvival = (survived + no tests) / checked mutants; equivalent mutants are listed with "
        f"their reason in {os.path.relpath(EQUIVALENT, ROOT)}")
  if unexplained:
    print(f"\n{len(unexplained)} unexplained survivors:")
    print("\n".join(unexplained))
  if args.json:
    with open(args.json, "w") as f:
      json.dump({m: dict(c) for m, c in counts.items()}, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
