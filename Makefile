# Two commands do everything on a fresh machine (see README):
#   make demo   - set up .venv if missing, then run the embedded demo end to end
#   make test   - set up .venv if missing, fetch the test music, run the tests
#   make test-envs - build every envs/*.yaml as a venv (.envs/) and run its backbone's tests there
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
comma := ,

.PHONY: demo demo-training-size test lint venv test-music clean-demo envs test-envs test-presets
ENVS := $(basename $(notdir $(wildcard envs/*.yaml)))
# backbones that cannot share the default environment (see envs/<name>.yaml)
OWN_ENVS := muq muq_mulan mule

venv: $(STAMP)

$(STAMP): requirements/ci.txt requirements/no-deps.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/ci.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements/no-deps.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

SNAKEMAKE := $(BIN)/snakemake --profile profiles/local --cores $(CORES)
define where
	@echo ""
	@echo "Report (open in a browser): results/report.html"
	@echo "Tables:  results/tables/  summary.md/.html/.csv/.tex, wide.md/.tex (the study's layout), tests.csv,"
	@echo "                          activity, popularity, hot_cold (.md/.html/.csv)$(1),"
	@echo "                          mir_vs_rec (MIR probes beside recommendation), mir_correlations.csv, probes.csv"
	@echo "Figures: results/figures/ summary, significance, activity, popularity, hot_cold$(2),"
	@echo "                          mir_vs_rec, mir_layers (.png + .csv), training/ (loss per epoch of each trained run)"
endef

demo: $(STAMP)
	$(SNAKEMAKE)
	$(SNAKEMAKE) --report results/report.html --quiet
	$(call where,,)

# the demo plus its training-size curve (presets/demo_training_size.yaml)
demo-training-size: $(STAMP)
	$(SNAKEMAKE) --configfile config.yaml presets/demo_training_size.yaml
	$(SNAKEMAKE) --configfile config.yaml presets/demo_training_size.yaml --report results/report.html --quiet
	$(call where,$(comma) training_size,$(comma) training_size)

test-music: .cache/music/.done

.cache/music/.done: tests/fetch_music.sh
	sh tests/fetch_music.sh .cache/music

test: $(STAMP) test-music
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest --ignore=tests/test_presets.py

# every preset run to its report on a miniature of its data (the journal's needs `make envs`)
test-presets: $(STAMP) test-music
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest --durations=0 tests/test_presets.py

# the venvs of the backbones that need their own (pip, no conda): extraction jobs use them
envs: $(STAMP)
	$(BIN)/python -m audiorec.software build $(OWN_ENVS)

env-%: $(STAMP)
	$(BIN)/python -m audiorec.software build $*

# every env file built with pip and its backbone's upstream-parity tests run inside it;
# DISCARD=1 removes each venv once tested (1-6 GB each), but those test-presets needs
test-envs: $(STAMP) test-music
	$(BIN)/python -m audiorec.software test $(ENVS) $(if $(DISCARD),--discard --keep $(OWN_ENVS))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests workflow benchmarks
	$(BIN)/snakemake --lint

clean-demo:
	rm -rf results data/demo .snakemake
