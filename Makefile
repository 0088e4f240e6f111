# sre-pipeline — see README.md. Every target works without Docker (the native stack); `demo`,
# `start`, `stop`, `status`, `logs` use docker compose where a Docker engine answers.
SHELL := /bin/bash
MAKEFLAGS += --no-print-directory
BUILD_DIR ?= build
TEST_BUILD_DIR ?= build-test
JOBS ?= $(shell nproc)
# Tests in parallel (one per core: the fuzzing and the mutation and outage e2e tests keep a core
# busy each, and more at once only slows each down).
TEST_JOBS ?= $(JOBS)
# make test builds with AddressSanitizer + UBSan (the CI configuration); SANITIZE=0 to skip.
SANITIZE ?= 1

.PHONY: all deps build test test-unit format clean-build stack-up stack-down stack-status \
        demo start stop clean logs logs-sim logs-api status seed restart-agents bench eval eval-detection

# Docker compose where a Docker engine answers; otherwise the same pipeline natively
# (infra/local/stack.sh + infra/local/pipeline.sh, state and logs in .local/).
DOCKER_OK := $(shell docker info >/dev/null 2>&1 && echo yes)
# Docker Compose v2 (`docker compose`), else Debian's docker-compose 1.29; both read docker-compose.yml.
COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
AGENT_SERVICES := detection correlation investigation remediation communication postmortem
PIPELINE := infra/local/pipeline.sh --bin $(BUILD_DIR)/bin

all: build

deps:
	infra/local/install-deps

# The executables only (no tests: `make test` builds those in $(TEST_BUILD_DIR)).
build: deps
	infra/build-executables $(BUILD_DIR) $(JOBS)

# Installs what is missing, configures, builds and runs every test (unit, integration, e2e).
test: deps
	cmake -S . -B $(TEST_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DSRE_WERROR=ON -DSRE_SANITIZE=$(if $(filter 1,$(SANITIZE)),ON,OFF) >/dev/null
	cmake --build $(TEST_BUILD_DIR) -j$(JOBS)
	ctest --test-dir $(TEST_BUILD_DIR) --output-on-failure -j$(TEST_JOBS)

test-unit: deps
	cmake -S . -B $(TEST_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DSRE_WERROR=ON -DSRE_SANITIZE=$(if $(filter 1,$(SANITIZE)),ON,OFF) >/dev/null
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

# With Docker the images are built by compose (infra/docker/Dockerfile), so `demo` needs no
# native build there.
ifeq ($(DOCKER_OK),yes)
demo:
	$(COMPOSE) up -d --build
	@echo "Dashboard  http://localhost:8000"
	@echo "Mail       http://localhost:8025   (Mailhog)"
	@echo "Simulator  http://localhost:8100/api/scenarios"
	@echo "Kafka UI   http://localhost:8080   Grafana http://localhost:3000   Prometheus http://localhost:9090"
	@echo "Logs       make logs   (agents), make logs-sim, make logs-api"
else
demo: build
	@echo "No Docker engine answers: running the same pipeline natively (state and logs in .local/)."
	$(PIPELINE) start
	@if [ -x $(BUILD_DIR)/bin/sre-api ]; then echo "Dashboard  http://localhost:8000"; \
	 else echo "Dashboard  (sre-api not built: no dashboard)"; fi
	@echo "Mail       $$(sed -n 's/^export MAILDEV_URL=//p' .local/stack.env 2>/dev/null | grep . || echo http://localhost:8025)   (MailDev)"
	@echo "Simulator  http://localhost:8100/api/scenarios"
	@echo "Kafka      $$(sed -n 's/^export KAFKA_BOOTSTRAP_SERVERS=//p' .local/stack.env 2>/dev/null)   (sre-devbroker; kcat -b ... -L)"
	@echo "Logs       make logs   (agents), make logs-sim, make logs-api"
endif

ifeq ($(DOCKER_OK),yes)
start:
	$(COMPOSE) up -d
else
start: build
	$(PIPELINE) start
endif

stop:
ifeq ($(DOCKER_OK),yes)
	$(COMPOSE) down
else
	$(PIPELINE) stop
endif

clean: stop
ifeq ($(DOCKER_OK),yes)
	$(COMPOSE) down -v
endif
	@# --purge also removes a PostgreSQL cluster kept under /tmp (see stack.sh).
	infra/local/stack.sh down --dir .local/eval/run --purge >/dev/null 2>&1 || true
	infra/local/stack.sh down --purge >/dev/null
	rm -rf .local

logs:
ifeq ($(DOCKER_OK),yes)
	$(COMPOSE) logs -f $(AGENT_SERVICES)
else
	$(PIPELINE) logs agents
endif

logs-sim:
ifeq ($(DOCKER_OK),yes)
	$(COMPOSE) logs -f simulator
else
	$(PIPELINE) logs sim
endif

logs-api:
ifeq ($(DOCKER_OK),yes)
	$(COMPOSE) logs -f api
else
	$(PIPELINE) logs api
endif

status:
ifeq ($(DOCKER_OK),yes)
	$(COMPOSE) ps
else
	$(PIPELINE) status
endif

ifeq ($(DOCKER_OK),yes)
seed:
	$(COMPOSE) run --rm seed
else
seed: build
	$(PIPELINE) seed
endif

restart-agents:
ifeq ($(DOCKER_OK),yes)
	$(COMPOSE) restart $(AGENT_SERVICES)
else
	$(PIPELINE) restart-agents
endif

# Benchmarks print figures; they are not tests.
bench: deps
	infra/build-executables $(BUILD_DIR) $(JOBS) --with-bench
	infra/local/bench.sh $(BUILD_DIR)/bin

# The evaluation scorecard (README "Evaluation scorecard"): always native, twice on a fresh stack
# of its own in .local/eval/run with the simulator at 30x and no random schedule, with
# REMEDIATION_MODE=off then auto (.local/eval/{off,auto}/), compared side by side in
# .local/eval/remediation.{md,json}; .local/eval/scorecard.{md,json} is the auto pass's, with the
# comparison and the detection section appended. Exit status 3 when any scenario fails or a
# remediation target is missed.
eval: build
	$(PIPELINE) eval

# The detection scorecard (README "Detection on realistic telemetry"): the detection core over 30
# simulated days of the realistic and the clean profile with injected failures, in process (no
# stack). Results in .local/eval/detection.{md,json}; exit status 3 when a target is missed.
eval-detection: build
	@mkdir -p .local/eval
	$(BUILD_DIR)/bin/sre-eval-detection --days 30 --md .local/eval/detection.md --json .local/eval/detection.json
