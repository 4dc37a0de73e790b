#!/usr/bin/env bash
# Regenerates the bundled en-GB prompt pack from texts.tsv with espeak-ng and sox:
# 8 kHz, mono, 16-bit PCM WAV, leading/trailing silence trimmed, peak-normalised to -3 dBFS.
# The WAVs are committed; run this only when texts.tsv changes:  prompts/generate.sh
set -euo pipefail
cd "$(dirname "$0")"
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "$tool not installed: run make deps" >&2; exit 1; }
done
out=en-GB
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rm -f "$out"/*.wav
grep -v '^#' texts.tsv | grep -v '^$' | while IFS=$'\t' read -r name text; do
  espeak-ng -v en-gb -s 165 -w "$tmp/raw.wav" "$text"
  sox "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$out/$name.wav" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse norm -3
done
echo "generated $(ls "$out"/*.wav | wc -l) prompts, $(du -sh "$out" | cut -f1)"
