#!/usr/bin/env bash
# `npm run test:containers`: builds the CPU image and runs a small cluster of it in real containers
# (test/containers/scenario.ts), after validating the compose file.
#
# What it needs, it sets up, and it takes down only what it set up:
#  - docker.io (and mmdebstrap, else debootstrap, when a base image must be built): installed from
#    Debian if missing;
#  - a Docker engine: used if one answers, else dockerd is started here (log in
#    $CONTAINERS_TEST_WORKDIR/dockerd.log) and stopped at the end;
#  - the base image: the official one (Dockerfile's default BASE_IMAGE) when it can be pulled, else
#    a local stand-in (docker/build-local-base.sh), tagged and reused by later runs.
# It skips (exit 0, saying why) only when docker cannot run here at all (not root and no engine,
# no package manager to install it, or an engine that does not start).
#
# Environment: BASE_IMAGE (use this base, skip the pull/local-base logic), CONTAINERS_TEST_KEEP_IMAGE=1
# (keep the built image; by default it is kept too, it is the warm cache), CONTAINERS_TEST_WORKDIR.
set -euo pipefail
cd "$(dirname "$0")/../.."

T0=$(date +%s)
step() { printf '[containers %6ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
skip() {
  printf '[containers] SKIPPED: %s\n' "$*"
  exit 0
}

work="${CONTAINERS_TEST_WORKDIR:-/tmp/spleeter-containers-test}"
mkdir -p "$work"
started_dockerd=""

cleanup() {
  local rc=$?
  # Second line of defence: the scenario removes what it creates; this catches a killed scenario.
  if docker info >/dev/null 2>&1; then
    ids=$(docker ps -aq --filter label=spleeter.containers-test 2>/dev/null || true)
    [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1 || true
    vols=$(docker volume ls -q --filter label=spleeter.containers-test 2>/dev/null || true)
    [ -n "$vols" ] && docker volume rm -f $vols >/dev/null 2>&1 || true
  fi
  if [ -n "$started_dockerd" ]; then
    step "stopping the dockerd started here (pid $started_dockerd)"
    kill "$started_dockerd" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 1; done
  fi
  exit $rc
}
trap cleanup EXIT

as_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  as_root && command -v apt-get >/dev/null || return 1
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -f "$work/.apt-updated" ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null && touch "$work/.apt-updated"
  fi
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---------------------------------------------------------------- docker CLI and engine
if ! command -v dockerd >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
  step "installing docker.io (Debian)"
  apt_install docker.io || skip "no Docker engine and no way to install one (needs root and apt-get)"
fi
command -v docker >/dev/null 2>&1 || skip "no docker CLI"

if ! docker info >/dev/null 2>&1; then
  as_root || skip "no Docker engine answers and starting dockerd needs root"
  step "starting dockerd (log: $work/dockerd.log)"
  # Host networking only: no bridge, no NAT rules (the containers talk to 127.0.0.1).
  dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --pidfile "$work/dockerd.pid" >"$work/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  if ! docker info >/dev/null 2>&1; then
    tail -n 20 "$work/dockerd.log" || true
    skip "dockerd does not start on this machine (see its log above)"
  fi
fi
step "docker engine $(docker version --format '{{.Server.Version}}')"

# ---------------------------------------------------------------- base image
default_base=$(sed -n 's/^ARG BASE_IMAGE=//p' docker/Dockerfile | head -n1)
base="${BASE_IMAGE:-}"
if [ -z "$base" ]; then
  if docker image inspect "$default_base" >/dev/null 2>&1 || timeout 120 docker pull -q "$default_base" >/dev/null 2>&1; then
    base="$default_base"
    step "base image: $base (official)"
  else
    # Rebuilt when the recipe changes: its hash is in the tag.
    recipe=$(sha256sum docker/build-local-base.sh | cut -c1-12)
    base="spleeter-local-base:trixie-$recipe"
    if docker image inspect "$base" >/dev/null 2>&1; then
      step "base image: $base (local stand-in, cached; $default_base cannot be pulled here)"
    else
      step "$default_base cannot be pulled here: building the local stand-in $base"
      # mmdebstrap (Debian's parallel debootstrap) when it can be had, else debootstrap.
      command -v mmdebstrap >/dev/null 2>&1 || apt_install mmdebstrap || true
      command -v mmdebstrap >/dev/null 2>&1 || command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap ||
        skip "neither mmdebstrap nor debootstrap is installed or installable"
      bash docker/build-local-base.sh "$base"
      step "local base image built"
    fi
  fi
fi

# ---------------------------------------------------------------- image
image="spleeter-server:containers-test"
step "building the CPU image ($image) on $base"
DOCKER_BUILDKIT=0 docker build --network host -q -f docker/Dockerfile --build-arg "BASE_IMAGE=$base" -t "$image" . \
  >"$work/build.log" 2>&1 || {
  tail -n 60 "$work/build.log"
  exit 1
}
size=$(docker image inspect -f '{{.Size}}' "$image")
base_size=$(docker image inspect -f '{{.Size}}' "$base")
added=$(((size - base_size) / 1000000))
step "image built: $((size / 1000000)) MB in all, base $((base_size / 1000000)) MB, added on top of the base ${added} MB (target <= 500 MB)"
docker history --format '  {{.Size}}\t{{.CreatedBy}}' "$image" | head -n 20 | cut -c1-150
if [ "$added" -gt 500 ]; then
  echo "[containers] FAILED: the image adds ${added} MB to its base (target 500 MB)"
  exit 1
fi
docker run --rm --network host --read-only "$image" sh -c \
  'echo "  node $(node --version), $(ffmpeg -hide_banner -version | head -n1 | cut -d" " -f1-3), bzip2 $(command -v bzip2), uid $(id -u)"'

# ---------------------------------------------------------------- compose file
compose=""
if docker compose version >/dev/null 2>&1; then
  compose="docker compose"
elif command -v docker-compose >/dev/null 2>&1; then
  compose="docker-compose"
elif apt_install docker-compose 2>/dev/null; then
  compose="docker-compose"
fi
if [ -n "$compose" ]; then
  export POSTGRES_PASSWORD=ci-only-not-a-secret SPLEETER_API_KEY=ci-only-not-a-secret-0123456789
  $compose -f docker/docker-compose.yml config -q
  $compose -f docker/docker-compose.yml --profile gpu config >"$work/compose-gpu.yml"
  grep -q 'driver: nvidia' "$work/compose-gpu.yml"
  # Secrets are required, not defaulted: without them the file does not validate.
  if env -u POSTGRES_PASSWORD $compose -f docker/docker-compose.yml config -q >/dev/null 2>&1; then
    echo "[containers] FAILED: docker-compose.yml validates without POSTGRES_PASSWORD"
    exit 1
  fi
  unset POSTGRES_PASSWORD SPLEETER_API_KEY
  step "docker/docker-compose.yml validates with $compose (default and gpu profiles; secrets required)"
else
  step "compose file not validated: neither docker compose nor docker-compose is available"
fi

# ---------------------------------------------------------------- the cluster
step "scenario: 1 API + 2 workers, 6 separations, a worker killed, the API restarted"
IMAGE="$image" node -r @swc-node/register test/containers/scenario.ts
step "container test passed"
