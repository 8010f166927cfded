# Entry points (README.md explains them):
#   make reproduce   data + figures + report (measures on a Hopper GPU; draws the recorded run elsewhere
#                    and checks it against the committed figures/); writes no tracked file
#   make test        everything that runs without a GPU (+ a kernel compile where nvcc exists)
# Each first checks every tool it needs (scripts/preflight.sh) and installs the npm dependencies (npm ci) itself.
SHELL := /bin/bash
NODE_STAMP := node_modules/.package-lock.json
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

# Everything that runs without a GPU: the pre-flight, then the build, then
# scripts/test.sh (the kernel compile where nvcc exists, alongside every
# notebook executed top to bottom and compared with its committed outputs,
# then the unit tests; GPU-only tests report themselves pending, with the reason).
test:
	@scripts/preflight.sh test
	@$(MAKE) --no-print-directory build
	@scripts/test.sh

# The kernels against the float64 reference on a GPU (pending without one).
# MLA_GPU_RESULTS_DIR=<dir> also writes the per-case table as gpu-correctness.csv.
test-gpu: build kernels
	$(MOCHA) --no-config --timeout 600000 dist/test/gpu-decode.test.js dist/test/sched.test.js

# Kernel-performance targets: measured on a GPU, else the recorded run's table.
bench: build kernels
	node dist/src/bench/cli.js

bench-reference: build
	node dist/src/bench/reference.js

notebooks:
	@scripts/preflight.sh notebooks
	@$(MAKE) --no-print-directory build
	NOTEBOOKS_SKIP_BUILD=1 scripts/notebooks.sh

# figures/ (and figures/REPORT.md) redrawn from the recorded run: the committed
# figures. No GPU needed; the same bytes unless the data or the drawing code changed.
figures:
	@scripts/reproduce.sh --recorded --out figures

# The pre-flight, the build, then measuring (GPU) or drawing the recorded run and
# comparing it with figures/ (no GPU); see scripts/reproduce.sh.
reproduce:
	@scripts/reproduce.sh

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
	rm -rf dist build
	$(MAKE) -C kernels clean
