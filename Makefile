# sre-pipeline — see README.md. Every target works without Docker (the native stack); `demo`,
# `start`, `stop`, `status`, `logs` use docker compose where a Docker engine answers.
SHELL := /bin/bash
MAKEFLAGS += --no-print-directory
BUILD_DIR ?= build
TEST_BUILD_DIR ?= build-test
JOBS ?= $(shell nproc)
# make test builds with AddressSanitizer + UBSan (the CI configuration); SANITIZE=0 to skip.
SANITIZE ?= 1

.PHONY: all deps build test test-unit test-integration format clean-build stack-up stack-down stack-status

all: build

deps:
	infra/local/install-deps

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Installs what is missing, configures, builds and runs every test (unit, integration, e2e).
test: deps
	cmake -S . -B $(TEST_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DSRE_SANITIZE=$(if $(filter 1,$(SANITIZE)),ON,OFF) >/dev/null
	cmake --build $(TEST_BUILD_DIR) -j$(JOBS)
	ctest --test-dir $(TEST_BUILD_DIR) --output-on-failure -j$(JOBS)

test-unit: deps
	cmake -S . -B $(TEST_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DSRE_SANITIZE=$(if $(filter 1,$(SANITIZE)),ON,OFF) >/dev/null
	cmake --build $(TEST_BUILD_DIR) -j$(JOBS)
	ctest --test-dir $(TEST_BUILD_DIR) --output-on-failure -L unit

format:
	find shared tools tests agents simulator knowledge api -name '*.cpp' -o -name '*.h' 2>/dev/null | xargs clang-format -i

# The native stack alone (Redis, PostgreSQL, sre-devbroker, MailDev) in .local/.
stack-up: build
	infra/local/stack.sh up --devbroker $(BUILD_DIR)/bin/sre-devbroker
stack-down:
	infra/local/stack.sh down
stack-status:
	infra/local/stack.sh status

clean-build:
	rm -rf $(BUILD_DIR) $(TEST_BUILD_DIR)
