# Shared helpers for pgfleet's build and test scripts. Sourced, not run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Tools pgfleet builds for itself live outside the checkout so fresh clones
# on the same machine reuse them.
TOOLS=${PGFLEET_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/pgfleet/tools}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# apt_install PKG...: installs missing Debian packages, or says how.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        die "missing packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}"
    fi
    say "installing ${missing[*]} (apt)"
    if [ -z "${PGFLEET_APT_UPDATED:-}" ]; then
        apt-get update -qq || die "apt-get update failed"
        export PGFLEET_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

# The wasm-bindgen version Cargo.lock pins; the CLI must match it exactly.
wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

wasm_bindgen_bin() {
    echo "$TOOLS/wasm-bindgen-$(wasm_bindgen_version)/bin/wasm-bindgen"
}

# The console's WASM splitter (.ci/wasm-split), installed under a name that
# changes with its sources.
wasm_split_bin() {
    local key
    key=$(cat "$ROOT"/.ci/wasm-split/Cargo.toml "$ROOT"/.ci/wasm-split/Cargo.lock "$ROOT"/.ci/wasm-split/src/*.rs | sha256sum | cut -c1-12)
    echo "$TOOLS/wasm-split-$key/bin/pgfleet-wasm-split"
}

# True when rustup's toolchain already has the wasm32 standard library.
has_rustup_wasm_std() {
    local sysroot
    sysroot=$(rustc --print sysroot 2>/dev/null) || return 1
    [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib" ]
}
