# Komek: `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help run test fuzz bench bench-peers lint fmt clean-run chart-tools chart-check images chart-up chart-down pods-journey

help:
	@echo "Komek targets:"
	@echo "  make run        build and start the four services locally (Redis 6380, RabbitMQ); Ctrl-C stops them"
	@echo "  make test       ensure Redis + RabbitMQ (+ Chromium, Kannel, aiosmtpd, schemathesis), the chart checks, build all binaries, cargo test --workspace --no-fail-fast"
	@echo "  make fuzz       the parsers' property tests, long: FUZZ_CASES=100000 (make fuzz FUZZ_CASES=N); CI runs them bounded in make test"
	@echo "  make bench      ensure Redis + RabbitMQ + the durable bench Redis (6391), release build, komek-bench (end to end) and the workspace/department benches"
	@echo "  make bench-peers  the same wrk load on Komek, django-helpdesk and Request Tracker 5; table into docs/benchmarks.md"
	@echo "  make lint       cargo clippy --workspace --all-targets -- -D warnings"
	@echo "  make fmt        cargo fmt --all"
	@echo "  make clean-run  remove .run (logs, Komek's local Redis data)"
	@echo "  make chart-tools  helm, kubectl, kubernetes-validate, checkov, promtool into .tools/ (scripts/chart.sh tools)"
	@echo "  make chart-check  lint, validate, scan and test the Helm chart for every values profile"
	@echo "  make images     build localhost/komek-<service>:local with podman (docker/Dockerfile; binaries built on the host)"
	@echo "  make chart-up   make images, render helm/komek with values-local.yaml, start it as pods (podman kube play), wait until ready"
	@echo "  make chart-down remove the pods (podman kube down) and their secrets"
	@echo "  make pods-journey  chart-up, the Kazakh journey against the pods (pods-journey), chart-down"

run:
	scripts/run.sh

test:
	scripts/deps.sh ensure
	scripts/deps.sh chromium
	scripts/deps.sh kannel
	scripts/deps.sh email
	scripts/deps.sh schemathesis
	scripts/deps.sh promtool
	scripts/chart.sh tools
	scripts/chart.sh check
	cargo build --workspace --bins
	cargo test --workspace --no-fail-fast
	KOMEK_IMAGE_PROFILE=dev $(MAKE) pods-journey

# Every `fuzz_tests` module (docs/security.md, "Parsers under fuzz"); each property reads
# FUZZ_CASES (the costliest divide it; not PROPTEST_CASES, which proptest applies to every
# property over its own count). Redis is for the SMTP listener's property.
FUZZ_CRATES := komek-domain komek-settings komek-store komek-bus komek-customers komek-intake komek-workspace
FUZZ_CASES ?= 100000
fuzz:
	scripts/deps.sh ensure
	FUZZ_CASES=$(FUZZ_CASES) cargo test --no-fail-fast $(addprefix -p ,$(FUZZ_CRATES)) --lib -- fuzz_tests::

bench:
	scripts/deps.sh ensure
	scripts/deps.sh bench-redis
	cargo build --release --workspace --bins
	KOMEK__REDIS__URL=redis://127.0.0.1:6391 cargo run --release -p komek-e2e --bin komek-bench
	cargo run --release -p komek-e2e --bin komek-bench-workspace
	cargo run --release -p komek-e2e --bin komek-bench-departments

# scripts/peers.sh installs the peers (apt, PyPI into .tools/peers) and starts Komek's own durable Redis.
bench-peers:
	scripts/deps.sh ensure
	cargo build --release --workspace --bins
	scripts/peers.sh

lint:
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

clean-run:
	rm -rf .run

chart-tools:
	scripts/deps.sh promtool
	scripts/chart.sh tools

chart-check: chart-tools
	scripts/chart.sh check
images:
	scripts/images.sh

chart-up: images
	scripts/pods.sh up

chart-down:
	scripts/pods.sh down

# The pods come down whether the journey passes or not; the journey's status is make's. Each run
# has its own Redis/RabbitMQ prefix (an earlier run's leftovers cannot be picked up), removed after.
pods-journey: images
	cargo build -p komek-e2e --bin pods-journey
	status=0; export KOMEK_PODS_PREFIX=komek-pods-$$(date +%s%N); \
	  scripts/pods.sh up && { cargo run -q -p komek-e2e --bin pods-journey || status=$$?; } || status=$$?; \
	  scripts/pods.sh down; cargo run -q -p komek-e2e --bin pods-journey -- --clean "$$KOMEK_PODS_PREFIX"; \
	  exit $$status
