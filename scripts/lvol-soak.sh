#!/usr/bin/env bash
# Soak run of the lvol store's stateful model test (LvolStatefulTest): two chains of random
# create / snapshot / clone / resize / inflate / decouple / set-detach parent / delete / write /
# zero / read operations with I/O running alongside and restarts in between, each step checked
# against the model. Also the kill -9 loop over a file-backed store, with more rounds.
#   scripts/lvol-soak.sh [STEPS] [CRASH_ROUNDS]     (defaults: 5000 steps, 40 rounds)
set -euo pipefail
BASALT_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$BASALT_HOME"
STEPS="${1:-5000}"
ROUNDS="${2:-40}"
# shellcheck source=bin/jdk.sh
. "$BASALT_HOME/bin/jdk.sh"
JAVA_HOME=$(basalt_find_jdk)
export JAVA_HOME
mvn -B -Dstyle.color=never test -Dtest=LvolStatefulTest -Dbasalt.lvol.soak.steps="$STEPS"
exec mvn -B -Dstyle.color=never verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
    -Dit.test=LvolCrashIT -Dbasalt.lvol.crash.rounds="$ROUNDS"
