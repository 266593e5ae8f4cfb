#!/usr/bin/env bash
# Fails when a tracked file outside docs/ names a path outside the repository, so the tests, the
# demo and the code work from a clone in any directory. Two kinds are looked for:
#   1. absolute paths of one machine (a work directory at the file-system root, a user's home
#      directory on Linux or macOS, root's home), and the sibling "shared" directory of
#      references, fixtures and specs beside the repository;
#   2. relative paths whose ../ steps climb above the repository root, counted from the file's
#      directory, or from its crate's directory when the line uses CARGO_MANIFEST_DIR.
# Usage: scripts/check_paths.sh [repository root]   (default: the repository holding this script)
set -euo pipefail

root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
cd "$root"
self="scripts/check_paths.sh"
found=0

# A path is absolute when nothing path-like comes right before its slash, so a `home` segment
# in a URL is not mistaken for a home directory.
start='(^|[^A-Za-z0-9_./~-])'
# Spelled with a variable for the slash so this file does not itself name such a path.
sl=/
name='[A-Za-z0-9_.-]+'
absolute="${start}(${sl}work${sl}|${sl}home${sl}${name}${sl}|${sl}root${sl}|${sl}Users${sl}${name}${sl})|\.\.${sl}shared\b|${start}shared${sl}(reference|fixtures|spec)\b"
if hits=$(git grep -n -I -E "$absolute" -- . ':!docs/' ":!$self"); then
  printf '%s\n' "$hits"
  found=1
fi

# Depth of a directory below the root ("" and "." are 0).
depth() {
  local d=$1
  [ -z "$d" ] || [ "$d" = "." ] && { echo 0; return; }
  awk -F/ '{print NF}' <<<"$d"
}

# The directory of the nearest Cargo.toml at or above a file's directory.
crate_dir() {
  local d
  d=$(dirname "$1")
  while [ "$d" != "." ] && [ ! -f "$d/Cargo.toml" ]; do
    d=$(dirname "$d")
  done
  echo "$d"
}

while IFS= read -r hit; do
  file=${hit%%:*}
  rest=${hit#*:}
  line=${rest#*:}
  if [[ $line == *CARGO_MANIFEST_DIR* ]]; then
    base=$(crate_dir "$file")
  else
    base=$(dirname "$file")
  fi
  levels=$(depth "$base")
  # The longest run of ../ on the line is the one that climbs highest.
  ups=$(grep -oE '(\.\./)+\.?\.?' <<<"$line" | awk '{n=gsub(/\.\./,"");if(n>m)m=n}END{print m+0}')
  if [ "$ups" -gt "$levels" ]; then
    printf '%s  (climbs %s levels from %s/, above the repository root)\n' "$hit" "$ups" "$base"
    found=1
  fi
done < <(git grep -n -I -E '\.\./' -- . ':!docs/' ":!$self" ':!*.lock' || true)

if [ "$found" -ne 0 ]; then
  echo "check_paths: the lines above name paths outside the repository; keep what the project needs inside it (e.g. fixtures/)." >&2
  exit 1
fi
echo "check_paths: every tracked file outside docs/ stays inside the repository"
