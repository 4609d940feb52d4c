#!/usr/bin/env bash
# Installs what the tests need (Debian packages: the real NBD/NVMe clients) and runs the whole
# test suite: unit tests, then end-to-end tests against the real basalt process.
#   scripts/test.sh                 everything (what CI runs)
#   scripts/test.sh -Dtest=Foo      extra Maven arguments are passed through
# Opt-in suites: BASALT_KERNEL_TESTS=1 (Linux kernel initiator under qemu).
set -euo pipefail
BASALT_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$BASALT_HOME"

PKGS=(qemu-utils libnbd-bin fio nbdkit nbd-client python3 util-linux)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "test.sh: installing ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# shellcheck source=bin/jdk.sh
. "$BASALT_HOME/bin/jdk.sh"
JAVA_HOME=$(basalt_find_jdk)
export JAVA_HOME
command -v mvn >/dev/null 2>&1 || { echo "test.sh: Maven (mvn) is needed" >&2; exit 1; }

exec mvn -B -Dstyle.color=never verify "$@"
