# softq — the commands a newcomer runs: `make demo`, `make test`, and `make bench` (peers).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench
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
