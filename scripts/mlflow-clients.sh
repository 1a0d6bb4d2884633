#!/usr/bin/env bash
# Creates the real MLflow client virtualenvs used by the compatibility suite and the benchmark:
#   .mlflow-clients/v2  newest mlflow 2.x (+ scikit-learn)
#   .mlflow-clients/v3  newest mlflow 3.x (+ scikit-learn)
# Idempotent: a venv that exists and imports mlflow is left alone. Needs python3 and PyPI.
# Usage: scripts/mlflow-clients.sh [v2] [v3]   (both when no argument is given)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=.mlflow-clients
mkdir -p "$root"

spec_for() {
  case "$1" in
    v2) echo 'mlflow>=2.22,<3' ;;
    v3) echo 'mlflow>=3,<4' ;;
    *) echo "unknown client '$1' (use v2 or v3)" >&2; return 2 ;;
  esac
}

make_venv() {
  local name=$1 spec dir
  spec=$(spec_for "$name")
  dir="$root/$name"
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c 'import mlflow, sklearn' >/dev/null 2>&1; then
    echo "$dir: ready ($("$dir/bin/python" -c 'import mlflow; print(mlflow.__version__)'))"
    return 0
  fi
  echo "$dir: installing $spec (takes a few minutes)" >&2
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" scikit-learn
  echo "$dir: ready ($("$dir/bin/python" -c 'import mlflow; print(mlflow.__version__)'))"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(v2 v3)
for t in "${targets[@]}"; do
  make_venv "$t"
done
