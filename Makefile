# Huitong: the two commands of the quick start, and a few helpers.
#   make run    set up what is missing, start RabbitMQ and PostgreSQL on loopback, build, migrate, then
#               deploy/local/run.sh: simulators, every hub role and the live demo (Ctrl-C stops it all gracefully)
#   make test   the same set-up, then every test (unit and integration against the real local servers)
SHELL := /bin/bash
SWIFT ?= swift
BUILD_FLAGS ?=

# The hub and the tests find the local servers through these; the ports follow deploy/local/servers.sh.
HUITONG_AMQP_PORT ?= 5673
HUITONG_PG_PORT ?= 5433
export HUITONG_AMQP_PORT HUITONG_PG_PORT
export HUITONG_AMQP_URL ?= amqp://huitong:huitong@127.0.0.1:$(HUITONG_AMQP_PORT)/huitong
export HUITONG_DATABASE_URL ?= postgres://huitong:huitong@127.0.0.1:$(HUITONG_PG_PORT)/huitong

.PHONY: run test setup servers build down status clean-local check-swift schemathesis

check-swift:
	@command -v $(SWIFT) >/dev/null 2>&1 || { echo "make: no Swift toolchain on PATH; install Swift 6.x (swift.org) and retry" >&2; exit 1; }

servers:
	@deploy/local/servers.sh up

setup: check-swift servers

build: check-swift
	$(SWIFT) build $(BUILD_FLAGS)

run: setup build
	.build/debug/huitong migrate
	exec deploy/local/run.sh

# The fault proof kills processes and restarts PostgreSQL, so it runs alone, first; then every other test, in parallel.
test: setup
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	$(SWIFT) test --skip-build --disable-xctest --filter FaultProofTests $(BUILD_FLAGS)
	$(SWIFT) test --skip-build --disable-xctest --skip FaultProofTests $(BUILD_FLAGS)
	$(MAKE) schemathesis

# The gateway's OpenAPI document against the live gateway (signed requests): zero 5xx, zero document violations.
schemathesis: check-swift
	scripts/schemathesis/run.sh

down:
	@deploy/local/servers.sh down

status:
	@deploy/local/servers.sh status

clean-local: down
	rm -rf .local
