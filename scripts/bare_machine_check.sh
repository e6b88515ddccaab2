#!/usr/bin/env bash
# The bare-machine check: proves that README's set-up works on a fresh Debian 12 with nothing
# installed by hand. It builds a minimal Debian 12 root from Debian's packages (mmdebstrap
# --variant=apt: essential packages and apt, no compiler, no git, no OpenCL headers), clones the
# committed checkout into it, and there, as a new user would, runs:
#   1. scripts/train.sh for one epoch  (install_deps.sh, the build of `pipeline` and its plugins,
#      the MNIST fetch with checksum check, a real training run; the test accuracy is printed)
#   2. `pipeline validate` on every shipped graph
#   3. predict.graph on the committed photo fixtures
#   4. scripts/test.sh                 (every test: unit, cnn and e2e labels)   [skip with --quick]
# and prints how long a new user waits from `git clone` to the first epoch line.
#
# Usage (as root): scripts/bare_machine_check.sh [--quick]
#
# Where things come from: Debian packages from this machine's own apt sources and Acquire
# settings (so it works wherever apt works here); MNIST from $PIPELINE_MNIST_SOURCE or the team's
# copy at ../shared/data/mnist (a bare root cannot reach the public mirrors here) through
# data/fetch_mnist.sh, which verifies the checksums; everything else from the project's own
# scripts. Downloaded .deb files are kept in $PIPELINE_BARE_CACHE (default
# /var/cache/pipeline-bare) and reused by the next run. If the root cannot be built (no route to
# the package archive, no permission to chroot or mount), the check fails and says why: it never
# passes without having run.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)
quick=false
if [[ ${1:-} == --quick ]]; then quick=true; elif [[ -n ${1:-} ]]; then
  echo "usage: $0 [--quick]" >&2
  exit 2
fi

say() { echo "bare-machine check: $*"; }
fail() {
  echo "bare-machine check: FAILED: $*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || fail "must run as root (it builds a Debian root with chroot and mounts)"
mnist=${PIPELINE_MNIST_SOURCE:-$checkout/../shared/data/mnist}
[[ -f $mnist/t10k-images-idx3-ubyte.gz ]] ||
  fail "no MNIST copy at $mnist (set PIPELINE_MNIST_SOURCE to a folder with the four .gz files)"
git -C "$checkout" rev-parse HEAD >/dev/null 2>&1 || fail "$checkout is not a git checkout"
if ! command -v mmdebstrap >/dev/null; then
  say "installing mmdebstrap (the tool that builds the root)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap \
    >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; } ||
    fail "cannot install mmdebstrap from this machine's apt sources"
fi

# This machine's Debian sources (not third-party ones, whose keys the root would not have) and
# the Acquire settings they need (proxies, snapshot validity).
sources=()
for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [[ -f $file ]] && grep -qE '^[^#]*(deb\.debian\.org|/debian)' "$file" && sources+=("$file")
done
[[ ${#sources[@]} -gt 0 ]] || fail "this machine has no Debian apt source to build the root from"
apt_options=()
for file in /etc/apt/apt.conf.d/*; do
  grep -qE '^[[:space:]]*Acquire::' "$file" 2>/dev/null && apt_options+=("--aptopt=$file")
done

cache=${PIPELINE_BARE_CACHE:-/var/cache/pipeline-bare}
mkdir -p "$cache/debs"
root=$(mktemp -d /var/tmp/pipeline-bare-root.XXXXXX)
cleanup() {
  # Mounts live in a private namespace that is gone by now; only the files remain.
  if [[ -z ${PIPELINE_BARE_KEEP:-} ]]; then rm -rf --one-file-system "$root"; else
    say "root kept at $root"
  fi
}
trap cleanup EXIT

say "building a minimal Debian 12 root in $root (sources: ${sources[*]})"
started=$SECONDS
if ! mmdebstrap --quiet --variant=apt "${apt_options[@]}" \
  --skip=essential/unlink --skip=cleanup/apt/cache \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
  --setup-hook="sync-in $cache/debs /var/cache/apt/archives/" \
  bookworm "$root" "${sources[@]}" >"$root.mmdebstrap.log" 2>&1; then
  tail -n 20 "$root.mmdebstrap.log" >&2
  rm -f "$root.mmdebstrap.log"
  fail "could not build the Debian root with mmdebstrap (see its last lines above)"
fi
rm -f "$root.mmdebstrap.log"
say "root ready in $((SECONDS - started)) s: $(chroot "$root" dpkg-query -W | wc -l) packages," \
  "no compiler: $(chroot "$root" sh -c 'command -v c++ || echo none')"

# What the new user has: the clean checkout, a DNS configuration, MNIST to fetch from.
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/srv/mnist"
cp "$mnist"/*.gz "$root/srv/mnist/"
git clone --quiet --no-hardlinks "$checkout" "$root/root/pipeline"

# The new user's session, verbatim from README, with timestamps.
cat >"$root/root/new_user.sh" <<'EOF'
set -euo pipefail
cd /root/pipeline
echo "--- scripts/train.sh --set train_data.epochs=1"
# Each phase's first line is timed from the clone: packages, build, MNIST, training, first epoch.
start=$(date +%s)
scripts/train.sh --set train_data.epochs=1 2>&1 | while IFS= read -r line; do
  echo "$line"
  phase=""
  case $line in
    installing:*) phase="package install started at" ;;
    "[1/"*) phase="build started at" ;;
    fetch_mnist:*) phase="MNIST fetch started at" ;;
    *" epoch "*step*) phase="training started at" ;;
    epoch*:*) phase="first epoch line at" ;;
  esac
  if [[ -n $phase ]] && ! grep -q "^$phase " /root/timeline 2>/dev/null; then
    echo "$phase $(($(date +%s) - start)) s" >>/root/timeline
  fi
done
[[ -f runs/mnist/latest.ckpt ]] || { echo "train.sh wrote no checkpoint" >&2; exit 1; }
echo "--- from git clone (0 s) to the first epoch line, on this machine:"
cat /root/timeline
grep -q '^first epoch line at' /root/timeline || { echo "no epoch line from train.sh" >&2; exit 1; }

echo "--- pipeline validate, every shipped graph"
# Validation checks the files a graph reads: the photo graphs read photos/ by default, which a
# new checkout does not have, so they are validated on the fixtures.
for graph in *.graph graphs/*.graph; do
  photos=()
  grep -q '"photos/"' "$graph" && photos=(--set source.path=data/fixtures/photos/)
  build/bin/pipeline validate "$graph" "${photos[@]}"
done

echo "--- predict.graph on the photo fixtures"
build/bin/pipeline run predict.graph --set source.path=data/fixtures/photos/ \
  --set output.output=/root/predictions.csv
rows=$(($(wc -l </root/predictions.csv) - 1))
photos=$(find data/fixtures/photos -type f \( -name '*.jpg' -o -name '*.png' \) | wc -l)
[[ $rows -eq $photos ]] || { echo "predictions: $rows rows for $photos photos" >&2; exit 1; }
echo "predictions.csv: $rows rows for $photos photos"

if [[ ${QUICK:-false} != true ]]; then
  echo "--- scripts/test.sh"
  scripts/test.sh
fi
EOF

say "running README's commands inside the root as a new user"
# A private mount namespace: the kernel file systems the build and tests need are mounted for
# this run only and disappear with it, even if the check is killed.
unshare --mount --propagation private bash -euo pipefail -c '
  root=$1
  mount -t proc proc "$root/proc"
  mount -t sysfs sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
  mount -t tmpfs -o mode=1777 tmp "$root/tmp"
  exec env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true QUICK="$2" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIPELINE_MNIST_SOURCE=/srv/mnist chroot "$root" bash /root/new_user.sh
' bare "$root" "$quick" || status=$?
# Keep the .deb files the root downloaded for the next run, whatever the outcome.
cp -n "$root"/var/cache/apt/archives/*.deb "$cache/debs/" 2>/dev/null || true
[[ ${status:-0} -eq 0 ]] || fail "README's commands failed on a bare Debian 12 (exit ${status})"
say "passed in $((SECONDS - started)) s"
