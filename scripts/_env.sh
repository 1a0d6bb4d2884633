# Sourced by the scripts in this folder: makes sure `.venv` holds the locked dependencies.
# Needs only Python >= 3.11 and git; uv is installed into .tools/ when it is not on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never
if command -v uv >/dev/null 2>&1; then
  UV=uv
else
  if [ ! -x .tools/bin/uv ]; then
    echo "setting up uv in .tools/ (once)" >&2
    python3 -m venv .tools
    .tools/bin/python -m pip install --quiet --disable-pip-version-check 'uv>=0.5,<1'
  fi
  UV=.tools/bin/uv
fi
# --inexact keeps extra packages installed by hand (e.g. the CPU build of torch for the DDP example).
# The interpreter is named only when .venv is created: naming it again makes uv rebuild the venv.
python_arg=()
[ -x .venv/bin/python ] || python_arg=(--python "$(command -v python3)")
"$UV" sync --quiet --frozen --inexact --all-extras "${python_arg[@]}"
export PATH="$PWD/.venv/bin:$PATH"
