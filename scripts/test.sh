#!/usr/bin/env bash
# Install everything (scripts/install.sh) and run the whole test suite, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GENS_TOOLS_CACHE_DIR="${GENS_TOOLS_CACHE_DIR:-$(mktemp -d)}"
ruff check .
ruff format --check .
mypy  # the core, strict (pyproject.toml)
mypy --strict --no-warn-unused-ignores integrations/langchain/langchain_gens
MYPYPATH=integrations/llama-index mypy --strict --no-warn-unused-ignores --namespace-packages \
  --explicit-package-bases -p llama_index.tools.gens
python -m pytest -q "$@"
