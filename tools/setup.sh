#!/usr/bin/env bash
# Set up a virtual environment in .venv with everything needed to run, test and document diffedit.
# Idempotent: a second run only checks. Installs the CPU build of torch first on machines without
# CUDA (a plain `pip install torch` would pull a multi-GB CUDA build there).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1; then .venv/bin/pip install -q torch
  else .venv/bin/pip install -q "torch==2.13.0" || .venv/bin/pip install -q torch
  fi
fi
.venv/bin/pip install -q -e ".[dev]"
echo "diffedit is installed in .venv ($(.venv/bin/python -c 'import diffedit; print(diffedit.__version__)'))" >&2
