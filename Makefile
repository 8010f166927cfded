# Entry points. `make test` and `make reproduce` install what they need themselves.
SHELL := /bin/bash
NODE_STAMP := node_modules/.package-lock.json
HAVE_NVCC := $(shell command -v nvcc >/dev/null 2>&1 && echo yes)

.PHONY: all deps build kernels test test-gpu bench bench-reference notebooks figures reproduce clean

all: build

# npm ci only when the lockfile changed since the last install.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

deps: $(NODE_STAMP)

build: deps
	npx tsc -p tsconfig.json

# Builds kernels/build/libmla.so (needs nvcc; no GPU needed to compile).
kernels:
	$(MAKE) -C kernels

# Everything that runs without a GPU, plus a compile of the kernels when nvcc is present.
# GPU-only tests report themselves pending on a machine without a CUDA device.
test: build
ifeq ($(HAVE_NVCC),yes)
	$(MAKE) -C kernels
else
	@echo "nvcc not found: skipping the kernel build (GPU tests will be pending)"
endif
	npx mocha

bench-reference: build
	node dist/src/bench/reference.js

clean:
	rm -rf dist
	$(MAKE) -C kernels clean
