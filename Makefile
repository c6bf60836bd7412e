# softq — the commands a newcomer runs: `make demo`, `make test`; `make bench` (peers) and
# `make mutants` (mutation testing of the core modules, an hour or more on 2 cores) for developers.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench mutants
BENCH_FLAGS ?= --quick

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m experiments.multigoal --algo sql --seeds 2 --steps 10000 --warmup 1000 --kernel_particles 32 --out runs/demo/sql --overwrite
	$(PY) -m experiments.multigoal --algo ddpg --seeds 2 --steps 10000 --warmup 1000 --out runs/demo/ddpg --overwrite

test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(PY) -m benchmarks.run $(BENCH_FLAGS) --install --out runs/bench

# mutmut keeps its results in mutants/ and retests only what changed; delete it for a fresh run.
mutants: $(STAMP)
	$(PY) -m pip install --quiet "mutmut==3.8.1"
	SOFTQ_COMPILATION_CACHE=$(CURDIR)/.pytest_cache/softq-jax $(VENV)/bin/mutmut run --max-children 2
	$(PY) tests/mutation_report.py --json mutants/survival.json
