#!/usr/bin/env bash
# Create the MLflow 3 virtualenv the benchmarks compare against (.bench/mlflow3, ignored by git).
# Does nothing when it already exists. Needs uv: on PATH, in .tools/bin or in /tmp/tools/bin.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=.bench/mlflow3
if [ -x "$VENV/bin/mlflow" ]; then
  echo "MLflow is already installed in $VENV ($("$VENV/bin/python" -c 'import mlflow; print(mlflow.__version__)'))"
  exit 0
fi
if command -v uv >/dev/null 2>&1; then
  UV=uv
elif [ -x .tools/bin/uv ]; then
  UV=.tools/bin/uv
elif [ -x /tmp/tools/bin/uv ]; then
  UV=/tmp/tools/bin/uv
else
  echo "error: uv not found (looked on PATH, .tools/bin/uv, /tmp/tools/bin/uv)" >&2
  echo "hint: run scripts/test once (it installs uv into .tools/), or: pip install uv" >&2
  exit 1
fi
"$UV" venv -p 3.11 "$VENV"
VIRTUAL_ENV="$VENV" "$UV" pip install 'mlflow>=3,<4'
echo "MLflow installed in $VENV"
