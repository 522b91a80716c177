#!/usr/bin/env bash
# Rejects C functions that are easy to misuse with untrusted sizes (as curl's checksrc does):
# use snprintf, strtol/strtoull with end checks, memcpy with known lengths, and vt_buf instead.
set -u
cd "$(dirname "$0")/.."
pattern='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|atof|strtok|strncpy|strncat)[[:space:]]*\('
hits=$(grep -rnE "$pattern" src tests/unit tests/fuzz bench --include='*.c' --include='*.h' | grep -vE '\b(snprintf|vsnprintf)\b' || true)
if [ -n "$hits" ]; then
  echo "lint: unsafe functions:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "lint: no unsafe functions"
