# sre-pipeline — see README.md. Every target works without Docker (the native stack); `demo`,
# `start`, `stop`, `status`, `logs` use docker compose where a Docker engine answers.
SHELL := /bin/bash
MAKEFLAGS += --no-print-directory
BUILD_DIR ?= build
TEST_BUILD_DIR ?= build-test
JOBS ?= $(shell nproc)
# make test builds with AddressSanitizer + UBSan (the CI configuration); SANITIZE=0 to skip.
SANITIZE ?= 1

.PHONY: all deps build test test-unit format clean-build stack-up stack-down stack-status \
        demo start stop clean logs logs-sim logs-api status seed restart-agents bench eval

# Docker compose where a Docker engine answers; otherwise the same pipeline natively
# (infra/local/stack.sh + infra/local/pipeline.sh, state and logs in .local/).
DOCKER_OK := $(shell docker info >/dev/null 2>&1 && echo yes)
PIPELINE := infra/local/pipeline.sh --bin $(BUILD_DIR)/bin

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

# ---- Running the pipeline -----------------------------------------------------------------------

demo: build
ifeq ($(DOCKER_OK),yes)
	docker compose up -d --build
else
	@echo "No Docker engine answers: running the same pipeline natively (state and logs in .local/)."
	$(PIPELINE) start
endif
	@echo "Dashboard  http://localhost:8000"
	@echo "Mail       $$(grep MAILDEV_URL .local/stack.env 2>/dev/null | cut -d= -f2 || echo http://localhost:8025)"
	@echo "Simulator  http://localhost:8100/api/scenarios"
	@echo "Logs       make logs   (agents), make logs-sim, make logs-api"

start:
ifeq ($(DOCKER_OK),yes)
	docker compose up -d
else
	$(PIPELINE) start
endif

stop:
ifeq ($(DOCKER_OK),yes)
	docker compose down
else
	$(PIPELINE) stop
endif

clean: stop
ifeq ($(DOCKER_OK),yes)
	docker compose down -v
endif
	rm -rf .local

logs:
ifeq ($(DOCKER_OK),yes)
	docker compose logs -f detection correlation investigation remediation communication postmortem
else
	$(PIPELINE) logs agents
endif

logs-sim:
ifeq ($(DOCKER_OK),yes)
	docker compose logs -f simulator
else
	$(PIPELINE) logs sim
endif

logs-api:
ifeq ($(DOCKER_OK),yes)
	docker compose logs -f api
else
	$(PIPELINE) logs api
endif

status:
ifeq ($(DOCKER_OK),yes)
	docker compose ps
else
	$(PIPELINE) status
endif

seed: build
ifeq ($(DOCKER_OK),yes)
	docker compose run --rm seed
else
	$(PIPELINE) seed
endif

restart-agents:
ifeq ($(DOCKER_OK),yes)
	docker compose restart detection correlation investigation remediation communication postmortem
else
	$(PIPELINE) restart-agents
endif

# Benchmarks print figures; they are not tests.
bench: build
	infra/local/bench.sh $(BUILD_DIR)/bin
