# Shared helpers for ci/*.sh: timed stages and dependency installation from Debian 12's apt.
# Sourced, not run.

KMSLAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KMSLAB_JOBS=${KMSLAB_JOBS:-$(nproc)}

# Everything a build, the tests and the benchmarks need. libboost1.81-dev by name: Debian's default
# Boost (1.74) lacks boost::system::result.
KMSLAB_PACKAGES=(
  g++ cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev libssl-dev libc-ares-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  bind9-dnsutils chrony dnsmasq-base dnsperf nftables python3 python3-jsonschema curl
  prometheus  # promtool checks and the watch's end-to-end test (Prometheus 2.42)
)

_stage_start=0
_stage_name=""
_run_start=$(date +%s)

stage() {  # stage "name": ends the previous stage (printing its time) and starts a new one
  stage_end
  _stage_name=$1
  _stage_start=$(date +%s)
  printf '\n==> [%s] %s\n' "$(date -u +%H:%M:%S)" "$_stage_name"
}

stage_end() {
  if [ -n "$_stage_name" ]; then
    local now; now=$(date +%s)
    printf '<== %s: %ss (total %ss)\n' "$_stage_name" "$((now - _stage_start))" "$((now - _run_start))"
    _stage_name=""
  fi
}

install_deps() {  # install_deps [extra packages...]: apt-get only what is missing
  local missing=()
  local pkg
  for pkg in "${KMSLAB_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "all ${#KMSLAB_PACKAGES[@]} packages present"
    return 0
  fi
  echo "installing: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: not root and no sudo; install: ${missing[*]}" >&2; return 2; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build_preset() {  # build_preset <preset>: configure (once) and build
  local preset=$1
  (cd "$KMSLAB_ROOT" && cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset" -j "$KMSLAB_JOBS")
}
