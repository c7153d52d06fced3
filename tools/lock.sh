#!/usr/bin/env bash
# Compile the top-level pins (requirements*.in) into hashed locks (requirements*.txt).
# Each lock is constrained by the one below it, so the three sets agree on every shared version.
set -euo pipefail
cd "$(dirname "$0")/.."
UV="${UV:-.venv/bin/uv}"
compile() { "$UV" pip compile --quiet --generate-hashes --python-version 3.11 --universal \
  --no-strip-extras --custom-compile-command "make lock" "$@"; }
compile requirements.in -o requirements.txt
compile requirements-loadtest.in -c requirements.txt -o requirements-loadtest.txt
compile requirements-dev.in -c requirements-loadtest.txt -o requirements-dev.txt
