# Shared by scripts/demo, scripts/test and scripts/fresh-check: install what
# is missing, build quietly. Sourced, not run.

# Debian 12 packages the build and the tests need. Nothing is downloaded at
# build time and nothing is vendored. scripts/fresh-check proves the list
# complete on a minimal Debian 12 root file system (its cache is keyed by
# this file, so a change here rebuilds that root file system).
OPSGATE_PACKAGES=(
  cmake ninja-build g++ ccache pkg-config git
  libboost1.81-dev libboost-url1.81-dev nlohmann-json3-dev libcurl4-openssl-dev libspdlog-dev
  libsqlitecpp-dev libsqlite3-dev sqlite3 doctest-dev libyaml-cpp-dev libssl-dev
  libexpected-dev libcli11-dev prometheus openssl
  libfmt-dev libhowardhinnant-date-dev tzdata
  libpqxx-dev postgresql-15
)

# The sanitizer build (scripts/test's second pass, scripts/fuzz) is clang's:
# ASan+UBSan plus libFuzzer's coverage, so the suite under the sanitizers and
# the fuzz targets of fuzz/ come from one build. Installed only for it.
OPSGATE_SANITIZE_PACKAGES=(clang libclang-rt-14-dev)
OPSGATE_SANITIZE_DIR=build/asan
# -g1: line tables are all the sanitizers' reports need, and the build is faster.
OPSGATE_SANITIZE_FLAGS=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1
  -DOPSGATE_SANITIZE=ON -DOPSGATE_FUZZ=ON -DOPSGATE_WERROR=ON -DOPSGATE_TESTS=ON)

# The one build directory of scripts/demo and scripts/test: both configure it
# with the same flags, so the demo reuses what the test run compiled (and
# ccache shares objects between clones and with scripts/fresh-check).
OPSGATE_BUILD_DIR=build/release
OPSGATE_BUILD_FLAGS=(-DCMAKE_BUILD_TYPE=Release -DOPSGATE_WERROR=ON -DOPSGATE_TESTS=ON)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# install_missing PACKAGE...: apt-get install those not installed yet.
install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "opsgate: installing ${#missing[@]} Debian packages (${missing[*]}); the first time this downloads about 300 MB and takes 2 to 5 minutes" >&2
  local log
  log=$(mktemp)
  if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "opsgate: apt-get failed (output above); is this Debian 12 (bookworm) with its package sources reachable?" >&2
    return 1
  fi
  rm -f "$log"
}

ensure_packages() {
  install_missing "${OPSGATE_PACKAGES[@]}" "$@"
}

# ccache keys on paths relative to the checkout, so a fresh clone in another
# folder (as CI makes) reuses what an earlier build compiled.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR=1

# Reads ninja's output and shows one progress line instead of the compiler's
# text: rewritten in place on a terminal, a line per tenth otherwise.
show_progress() {
  local label=$1 line done total tenth last=-1
  local tty=0
  [ -t 2 ] && tty=1
  while IFS= read -r line; do
    [[ $line =~ ^\[([0-9]+)/([0-9]+)\] ]] || continue
    done=${BASH_REMATCH[1]}
    total=${BASH_REMATCH[2]}
    if [ $tty -eq 1 ]; then
      printf '\r%s: %d/%d' "$label" "$done" "$total" >&2
    else
      tenth=$((done * 10 / total))
      if [ "$tenth" -ne "$last" ]; then
        last=$tenth
        printf '%s: %d/%d\n' "$label" "$done" "$total" >&2
      fi
    fi
  done
  if [ $tty -eq 1 ]; then
    printf '\n' >&2
  fi
  return 0
}

# configure_and_build BUILD_DIR TARGET CMAKE_ARGS...
# Quiet: a progress line while it builds; the configure or compiler output
# only when a step fails (the whole log stays in BUILD_DIR/build.log).
configure_and_build() {
  local dir=$1 target=$2
  shift 2
  mkdir -p "$dir"
  if ! cmake -S . -B "$dir" -G Ninja "$@" >"$dir/configure.log" 2>&1; then
    cat "$dir/configure.log" >&2
    echo "opsgate: configuring $dir failed (output above, also in $dir/configure.log)" >&2
    return 1
  fi
  # pipefail in a subshell: the build's exit status, whatever the caller set.
  if ! (
    set -o pipefail
    NINJA_STATUS="[%f/%t] " cmake --build "$dir" --target "$target" -j "$(nproc)" 2>&1 |
      tee "$dir/build.log" | show_progress "building $target"
  ); then
    # ninja prints "FAILED:" before each failing step's command and output.
    if grep -q '^FAILED:' "$dir/build.log"; then
      sed -n '/^FAILED:/,$p' "$dir/build.log" | head -n 300 >&2
    else
      tail -n 100 "$dir/build.log" >&2
    fi
    echo "opsgate: building $target failed (output above, whole log in $dir/build.log)" >&2
    return 1
  fi
}

# The release build that scripts/demo runs and scripts/test tests.
build_release() {
  configure_and_build "$OPSGATE_BUILD_DIR" "$1" "${OPSGATE_BUILD_FLAGS[@]}"
}

# The clang ASan+UBSan+libFuzzer build (TARGET: all, or fuzz for the fuzz targets only).
build_sanitized() {
  install_missing "${OPSGATE_SANITIZE_PACKAGES[@]}"
  configure_and_build "$OPSGATE_SANITIZE_DIR" "$1" "${OPSGATE_SANITIZE_FLAGS[@]}"
}
