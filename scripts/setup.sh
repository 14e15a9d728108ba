#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment: .venv with graspviz installed editable
# with its test extra. Idempotent: when nothing changed since the last run it only checks and exits.
#
#   scripts/setup.sh            # uses python3 and .venv (override with PYTHON=..., VENV=...)
#
# torch: when the venv has no torch, `torch==2.13.0` is installed first, explicitly. On the
# project's machines that pin resolves to a local CPU wheel; an unpinned torch (which pip would
# otherwise pick while resolving pyproject's `torch>=2.2`) pulls several GB of CUDA wheels.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_PIN="${TORCH_PIN:-torch==2.13.0}"
PY="$VENV/bin/python"
STAMP="$VENV/.graspviz-setup"

if [ ! -x "$PY" ]; then
    echo "setup: creating $VENV with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi

# What the install depends on: the package metadata and where this checkout lives.
want="$( (cat pyproject.toml; echo "$ROOT") | sha256sum | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
# graspviz must resolve to this checkout (find_spec does not import the package: fast).
located="$("$PY" -c 'import importlib.util as u; s = u.find_spec("graspviz"); print(s.origin if s else "")' 2>/dev/null || true)"
if [ "$want" = "$have" ] && [ "$located" = "$ROOT/graspviz/__init__.py" ]; then
    echo "setup: $VENV is up to date"
    exit 0
fi

if ! "$PY" -c "import torch" >/dev/null 2>&1; then
    echo "setup: installing $TORCH_PIN"
    "$PY" -m pip install "$TORCH_PIN"
fi
echo "setup: installing graspviz (editable) with its test extra"
"$PY" -m pip install -e ".[test]"
echo "$want" > "$STAMP"
echo "setup: done ($("$PY" -c 'import torch; print("torch", torch.__version__)'))"
