# Shared by scripts/demo and scripts/test: install what is missing, build.
# Sourced, not run.

# Debian 12 packages the build and the tests need. Nothing is downloaded at
# build time and nothing is vendored.
OPSGATE_PACKAGES=(
  cmake ninja-build g++ ccache pkg-config git
  libboost1.81-dev nlohmann-json3-dev libcurl4-openssl-dev libspdlog-dev
  libsqlitecpp-dev libsqlite3-dev sqlite3 doctest-dev libyaml-cpp-dev libssl-dev
  libexpected-dev prometheus
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
  local missing=()
  for p in "${OPSGATE_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "opsgate: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# ccache keys on paths relative to the checkout, so a fresh clone in another
# folder (as CI makes) reuses what an earlier build compiled.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR=1

# configure_and_build BUILD_DIR TARGET CMAKE_ARGS...
configure_and_build() {
  local dir=$1 target=$2
  shift 2
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" --target "$target" -j "$(nproc)"
}
