#!/usr/bin/env bash
# Record the README's main job in a terminal (tmux) from a cold operand cache:
#   bash benchmarks/cli/record_quickstart.sh docs/quickstart-session.txt
# A scratch folder gets a fresh METRICFORGE_CACHE holding only the converted model (a link to the
# shared one), so token windows and operands are computed from scratch, and its own registry.
# The pane is captured every 5 s for the first minute, then every 60 s, each snapshot headed by the
# seconds since the start; the last one is the finished screen.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/docs/quickstart-session.txt}")
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
MODELS=${MODELS:-${METRICFORGE_CACHE:-$HOME/.cache/metricforge}/models}
WORK=$(mktemp -d /tmp/quickstart-XXXX)
mkdir -p "$WORK/cache" "$WORK/bin"
ln -s "$MODELS" "$WORK/cache/models"
ln -s "$ROOT/configs" "$WORK/configs"
printf '#!/bin/sh\nPYTHONPATH=%s exec %s -m metricforge.cli "$@"\n' "$ROOT" "$PYTHON" > "$WORK/bin/metricforge"
chmod +x "$WORK/bin/metricforge"
SESSION=quickstart-$$
tmux new-session -d -s "$SESSION" -x 132 -y 40 -c "$WORK" \
  "env PATH=$WORK/bin:\$PATH METRICFORGE_CACHE=$WORK/cache bash --norc -i"
tmux send-keys -t "$SESSION" "metricforge search --task llm-prune --config configs/quickstart.toml; echo \"exit status \$?\"" Enter
start=$(date +%s)
{
  echo "# metricforge search --task llm-prune --config configs/quickstart.toml"
  echo "# cold operand cache (fresh METRICFORGE_CACHE with only the converted model); $(nproc) cores $(uname -m), started $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
  echo "# tmux pane 132x40, captured every 5 s for the first minute, then every 60 s"
} > "$OUT"
while :; do
  now=$(date +%s); t=$((now - start))
  screen=$(tmux capture-pane -p -t "$SESSION" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}')
  printf '\n==== t = %d s ====\n%s\n' "$t" "$screen" >> "$OUT"
  if grep -q '^exit status' <<<"$screen"; then break; fi
  if [ "$t" -lt 60 ]; then sleep 5; else sleep 60; fi
done
tmux kill-session -t "$SESSION"
echo "recorded in $OUT ($WORK kept)"
