# Sourced by bin/basalt and scripts/test.sh: finds a JDK >= 25 without the user setting JAVA_HOME.
# basalt_find_jdk prints its home (JAVA_HOME if that is one, else the newest in /usr/lib/jvm,
# else the javac on PATH), or explains on stderr and fails.

basalt_java_major() {  # major version of the java binary $1, or 0
  local v
  v=$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)
  case "$v" in 1.*) echo "${v#1.}" | cut -d. -f1 ;; "") echo 0 ;; *) echo "$v" | cut -d. -f1 ;; esac
}

basalt_find_jdk() {
  local c best="" best_v=0 v
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ] && [ "$(basalt_java_major "$JAVA_HOME/bin/java")" -ge 25 ]; then
    echo "$JAVA_HOME"; return 0
  fi
  for c in /usr/lib/jvm/*; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    v=$(basalt_java_major "$c/bin/java")
    if [ "$v" -ge 25 ] && [ "$v" -gt "$best_v" ]; then best="$c"; best_v=$v; fi
  done
  if [ -n "$best" ]; then echo "$best"; return 0; fi
  if command -v javac >/dev/null 2>&1; then
    c=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    if [ "$(basalt_java_major "$c/bin/java")" -ge 25 ]; then echo "$c"; return 0; fi
  fi
  echo "basalt: needs a JDK 25 or newer (Temurin 25 is expected at /usr/lib/jvm/temurin-25-jdk-amd64);" >&2
  echo "        none found in JAVA_HOME, /usr/lib/jvm or on PATH." >&2
  return 1
}
