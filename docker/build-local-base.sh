#!/usr/bin/env bash
# Builds a stand-in for the official Node.js base image where it cannot be pulled (a machine that
# reaches only the npm registry and Debian's apt mirror): Debian (mmdebstrap where installed, else
# debootstrap; minbase) from the
# mirror this machine's own apt sources name, Debian's nodejs, npm from the npm registry, and this
# machine's CA bundle (so npm works behind a TLS-inspecting proxy). Tagged as $1 (default
# spleeter-local-base:<suite>); pass it to the Dockerfiles as --build-arg BASE_IMAGE=<tag>.
#
# Debian's own npm package is not used: it pulls the whole compiler toolchain into every stage
# (node-gyp's dependencies), and is far older than the npm of the official images.
#
# Environment: LOCAL_BASE_SUITE (default trixie, Debian stable: the official node:*-trixie-slim
# images are built on it), LOCAL_BASE_MIRROR (default: the first Debian URI of /etc/apt/sources.list*),
# LOCAL_BASE_NPM (default: npm@<major of this machine's npm>), LOCAL_BASE_TOOL=debootstrap (use
# debootstrap even where mmdebstrap is installed).
set -euo pipefail

suite="${LOCAL_BASE_SUITE:-trixie}"
tag="${1:-spleeter-local-base:${suite}}"

log() { printf '[local-base] %s\n' "$*" >&2; }

# Debian URIs named by this machine's apt sources (deb822 .sources files or one-line lists).
apt_uris() {
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk 'tolower($1)=="uris:"{for(i=2;i<=NF;i++)print $i}'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1=="deb"{for(i=2;i<=NF;i++)if($i ~ /^[a-z]+:\/\//){print $i;break}}'
  } | sed 's:/*$::'
}
apt_mirror() {
  local uri
  uri=$(apt_uris | grep -E '/debian$' | head -n1)
  [ -n "$uri" ] || { log "no Debian mirror found in /etc/apt/sources.list*"; return 1; }
  printf '%s\n' "$uri"
}

mirror="${LOCAL_BASE_MIRROR:-$(apt_mirror)}"
security_mirror="${LOCAL_BASE_SECURITY_MIRROR:-$(apt_uris | grep -E '/debian-security$' | head -n1 || true)}"
npm_spec="${LOCAL_BASE_NPM:-npm@$(npm --version | cut -d. -f1)}"
ca_bundle="${LOCAL_BASE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

work=$(mktemp -d /var/tmp/spleeter-local-base.XXXXXX)
cleanup() {
  # debootstrap mounts /proc and /sys inside the target while it runs.
  umount -l "$work/rootfs/proc" "$work/rootfs/sys" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# libnode-dev: the headers node-gyp compiles addons against (it would download them otherwise).
packages=nodejs,libnode-dev,ca-certificates
if command -v mmdebstrap >/dev/null 2>&1 && [ "${LOCAL_BASE_TOOL:-}" != debootstrap ]; then
  # Debian's faster debootstrap: apt downloads in parallel and unpacks in one pass (about 1-2 min
  # here instead of 5-16 for debootstrap's one-package-at-a-time install).
  log "mmdebstrap $suite from $mirror (minbase + nodejs and its headers)"
  mkdir -p "$work/rootfs"
  mmdebstrap --variant=minbase --include="$packages" --mode=root --skip=output/dev \
    "$suite" "$work/rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
else
  log "debootstrap $suite from $mirror (minbase + nodejs and its headers)"
  debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" "$mirror" \
    > "$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
fi

log "npm ($npm_spec) from the npm registry"
(cd "$work" && npm pack --silent "$npm_spec" > npm-tarball.txt)
mkdir -p "$work/rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/$(tail -n1 "$work/npm-tarball.txt")" -C "$work/rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"

# This machine's CA bundle beside Debian's (which update-ca-certificates may regenerate).
cp "$ca_bundle" "$work/rootfs/etc/ssl/certs/host-ca-bundle.crt"
# Slim like the official images: no docs, manuals, apt lists or debootstrap leftovers.
rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin "$work/rootfs/var/cache/apt/archives/"*.deb \
  "$work/rootfs/usr/share/doc/"* "$work/rootfs/usr/share/man/"* "$work/rootfs/var/log/"*.log
printf 'APT::Install-Recommends "false";\n' > "$work/rootfs/etc/apt/apt.conf.d/90no-recommends"
# Point updates and security fixes at the same mirrors, as the official images' debian.sources do.
rm -f "$work/rootfs/etc/apt/sources.list"
{
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" "$suite" "$suite"
  if [ -n "$security_mirror" ]; then
    printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$security_mirror" "$suite"
  fi
} > "$work/rootfs/etc/apt/sources.list.d/debian.sources"

log "docker import as $tag"
tar --numeric-owner -C "$work/rootfs" --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -c . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-bundle.crt' \
    --change 'ENV npm_config_cafile=/etc/ssl/certs/host-ca-bundle.crt' \
    --change 'ENV npm_config_update_notifier=false' \
    --change 'ENV npm_config_nodedir=/usr' \
    --change 'LABEL org.opencontainers.image.description="spleeter-server local stand-in for the official Node.js base image"' \
    --change 'CMD ["node"]' \
    - "$tag" > /dev/null
docker run --rm --network host "$tag" sh -c 'echo "node $(node --version), npm $(npm --version)"' >&2
log "built $tag"
