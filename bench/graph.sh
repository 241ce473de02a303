#!/usr/bin/env bash
# Whole-process timings of the commands that need no database, on a generated graph of
# 10,000 revision files with branches, merges, labels and a dependency every 40 revisions.
#
#   bench/graph.sh [N]        (default 10000; needs hyperfine and GNU time)
#
# Prints hyperfine's table for `heads`, `history`, `history --graph`, `branches`, `show` of a label target and
# of a relative target, then the peak resident memory of each. The goal: under 50 ms wall and
# 40 MB for each (`history --graph`: under 100 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -q
dapp=$PWD/target/release/dapp
python3 bench/gen.py "$work/m/versions" "$n" --shape graph
dir="$work/m"
# A revision in the middle of the folder, resolved by a 6-character prefix.
mid=$(ls "$dir/versions" | sed -n "$((n / 2))p" | cut -c1-6)
cmds=(
  "$dapp db -d $dir heads"
  "$dapp db -d $dir history"
  "$dapp db -d $dir history --graph"
  "$dapp db -d $dir branches"
  "$dapp db -d $dir show l39@head"
  "$dapp db -d $dir show $mid"
  "$dapp db -d $dir history -r $mid:head"
)
echo "== $n revisions ($(du -sh "$dir/versions" | cut -f1) of files)"
hyperfine -N --warmup 3 --runs 50 --export-markdown "$work/t.md" "${cmds[@]}" >/dev/null
sed "s|$dapp|dapp|; s|$dir|DIR|" "$work/t.md"
echo
echo "== peak resident memory"
for c in "${cmds[@]}"; do
  kb=$(/usr/bin/time -f %M $c 2>&1 >/dev/null | tail -1)
  printf '%6.1f MB  %s\n' "$(echo "$kb / 1024" | bc -l)" "$(echo "$c" | sed "s|$dapp|dapp|; s|$dir|DIR|")"
done
