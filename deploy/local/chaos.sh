#!/usr/bin/env bash
# The runtime's fault proof at scale: N commands (default 200,000; 3 % duplicate ids) through the sample role while
# the serving process is kill -9'd three times, its broker connections are closed once and PostgreSQL is restarted
# once. Passes only with exactly one effect per unique command, every event published and seen downstream, and
# nothing left in queues or outbox or parked. `make test` runs the same test with 20,000.
#
#   deploy/local/chaos.sh [N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
messages="${1:-200000}"
deploy/local/servers.sh up
swift build --build-tests
HUITONG_PROOF_MESSAGES="$messages" swift test --skip-build --disable-xctest --filter FaultProofTests
