#!/usr/bin/env bash
# Every benchmark, three times each, then the spread of each figure over the three runs.
# Run from a fresh clone after `bash .ci/test` (which installs everything); nothing else
# should run on the machine meanwhile. PostgreSQL and Redis: the local servers.
#   bash bench/run_all.sh [generations|callbacks|postgres|scale|history|chaos|fairness|zip]...
# Each run writes a raw result (bench/results/<benchmark>-<stamp>-….json, scratch, not
# committed); bench/summarise.py then files them into one summary per benchmark
# (bench/results/<benchmark>.json: the latest three runs of each variant), which is what
# the README points at and what gets committed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG="postgres://postgres@127.0.0.1:5432/bench_playground"
REDIS="redis://127.0.0.1:6379/14"
RUNS="${RUNS:-3}"
STAMP=$(date +%Y%m%d-%H%M%S)
COMMIT=$(git describe --always --dirty)  # the code measured, for results that do not say
only=("$@")
wanted() { [ ${#only[@]} -eq 0 ] || [[ " ${only[*]} " == *" $1 "* ]]; }
out() { echo "bench/results/$1-$STAMP-$2.json"; }

for i in $(seq "$RUNS"); do
  if wanted generations; then
    env -u DATABASE_URL -u REDIS_URL $PY bench/generations.py --out "$(out generations sqlite-$i)"
  fi
  if wanted callbacks; then
    env -u DATABASE_URL -u REDIS_URL $PY bench/generations.py --callbacks \
      --out "$(out generations sqlite-callbacks-$i)"
  fi
  if wanted postgres; then
    DATABASE_URL=$PG REDIS_URL=$REDIS $PY bench/generations.py \
      --out "$(out generations postgres-$i)"
  fi
  if wanted scale; then
    DATABASE_URL=$PG REDIS_URL=$REDIS $PY bench/generations.py --jobs 1000 --clusters 2 --task-seconds 60 120 \
      --out "$(out generations postgres-1000-$i)"
  fi
  if wanted history; then
    env -u DATABASE_URL -u REDIS_URL $PY bench/history.py --out "$(out history sqlite-$i)"
    DATABASE_URL=$PG $PY bench/history.py --out "$(out history postgres-$i)"
  fi
  if wanted chaos; then
    env -u DATABASE_URL -u REDIS_URL $PY bench/chaos.py --task-seconds 30 90 --gap 5 15 --out "$(out chaos sqlite-$i)"
  fi
  if wanted fairness; then
    for scenario in A B; do
      env -u DATABASE_URL -u REDIS_URL $PY bench/fairness.py --scenario $scenario \
        --out "$(out fairness sqlite-$scenario-$i)"
      DATABASE_URL=$PG REDIS_URL=$REDIS $PY bench/fairness.py --scenario $scenario \
        --out "$(out fairness postgres-$scenario-$i)"
    done
  fi
  if wanted zip; then
    env -u DATABASE_URL -u REDIS_URL $PY bench/zip_export.py --out "$(out zip-export sqlite-$i)"
  fi
done
shopt -s nullglob
raw=(bench/results/*-"$STAMP"-*.json)
[ ${#raw[@]} -eq 0 ] || $PY bench/summarise.py --commit "$COMMIT" "${raw[@]}"
$PY bench/generations.py --spread bench/results/generations-"$STAMP"-*.json 2>/dev/null || true
$PY bench/history.py --spread bench/results/history-"$STAMP"-*.json 2>/dev/null || true
$PY bench/zip_export.py --spread bench/results/zip-export-"$STAMP"-*.json 2>/dev/null || true
