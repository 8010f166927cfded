# Entry points (README.md explains them):
#   make reproduce   data + figures + report (measures on a Hopper GPU; draws the recorded run elsewhere)
#   make test        everything that runs without a GPU (+ a kernel compile where nvcc exists)
# Each installs what it needs (npm ci) itself.
SHELL := /bin/bash
NODE_STAMP := node_modules/.package-lock.json
HAVE_NVCC := $(shell command -v nvcc >/dev/null 2>&1 && echo yes)
MOCHA := node node_modules/mocha/bin/mocha.js
TSC := node node_modules/typescript/bin/tsc

.PHONY: all deps build kernels test test-gpu bench bench-reference notebooks figures reproduce clean \
        check-repro manifest manifest-check claims artifact

all: build

# On a GPU machine that only has the runtime carried by scripts/gpu-pack.sh
# (MLA_CARRIED=1, set by scripts/gpu-env.sh), node_modules and dist/ come
# prebuilt and there is no npm: skip the install and the compile.
ifeq ($(MLA_CARRIED),1)
deps:
build:
else
# npm ci only when the lockfile changed since the last install.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

deps: $(NODE_STAMP)

build: deps
	$(TSC) -p tsconfig.json
endif

# kernels/build/libmla.so (+ the -Xptxas -v report beside it). Needs nvcc, not a GPU.
kernels:
	$(MAKE) -C kernels lib

# Everything that runs without a GPU: the compile of the kernels where nvcc
# exists, every notebook executed top to bottom and compared with its
# committed outputs, then the unit tests (mocha's summary closes the output).
# GPU-only tests report themselves pending, with the reason.
test: build
ifeq ($(HAVE_NVCC),yes)
	$(MAKE) -C kernels lib
else
	@echo "nvcc not found: skipping the kernel build (GPU tests will be pending)"
endif
	NOTEBOOKS_SKIP_BUILD=1 scripts/notebooks.sh --check --compare
	$(MOCHA)

# The kernels against the float64 reference on a GPU (pending without one).
# MLA_GPU_RESULTS_DIR=<dir> also writes the per-case table as gpu-correctness.csv.
test-gpu: build kernels
	$(MOCHA) --no-config --timeout 600000 dist/test/gpu-decode.test.js dist/test/sched.test.js

# Kernel-performance targets: measured on a GPU, else the recorded run's table.
bench: build kernels
	node dist/src/bench/cli.js

bench-reference: build
	node dist/src/bench/reference.js

notebooks: build
	NOTEBOOKS_SKIP_BUILD=1 scripts/notebooks.sh

# Figures from whatever run data/ holds (the recorded run by default). No GPU needed.
figures: build
	node dist/src/figures/cli.js --out figures

reproduce: build
	REPRODUCE_SKIP_BUILD=1 scripts/reproduce.sh

# Does a fresh run reproduce the recorded one? On a GPU: measures, then compares.
# Elsewhere: FRESH=<run folder> [RECORDED=<run folder>] compares two folders; without FRESH, exit 4.
check-repro: build
	CHECK_REPRO_SKIP_BUILD=1 scripts/check-repro.sh $(if $(FRESH),--fresh $(FRESH)) $(if $(RECORDED),--recorded $(RECORDED)) $(if $(QUICK),--quick) $(CHECK_REPRO_FLAGS)

# SHA-256 of every file under data/ and figures/: regenerate and commit whenever they change.
manifest: build
	node dist/src/artifact/manifest.js write

manifest-check: build
	node dist/src/artifact/manifest.js check

# The claims table of ARTIFACT.md, from the recorded run.
claims: build
	node dist/src/artifact/claims.js

# After new data or figures: ARTIFACT.md's claims table, then the manifest (commit both with the data).
artifact: build
	node dist/src/artifact/claims.js --update ARTIFACT.md
	node dist/src/artifact/manifest.js write

clean:
	rm -rf dist
	$(MAKE) -C kernels clean
