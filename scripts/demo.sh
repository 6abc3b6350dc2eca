#!/usr/bin/env bash
# The main job on the embedded default: ingest sample_data/ into Milvus Lite, start the API, answer searches.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8765}"
API="http://127.0.0.1:${PORT}"

echo "== ingest sample_data/ into ${SEMSEARCH_MILVUS_URI:-./data/milvus.db}"
semsearch ingest sample_data/

echo "== start the API on ${API}"
semsearch serve --port "${PORT}" --log-level warning &
SERVER=$!
trap 'kill ${SERVER} 2>/dev/null; wait ${SERVER} 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    if curl -fs "${API}/ready" >/dev/null 2>&1; then break; fi
    if ! kill -0 "${SERVER}" 2>/dev/null; then echo "the API did not start" >&2; exit 1; fi
    sleep 0.5
done
curl -fs "${API}/ready"; echo

for QUERY in \
    "calculate money amounts without losing cents to rounding errors" \
    "roll dice and flip coins in a simulation" \
    "postpone a job until a chosen moment"; do
    echo "== POST /search (dense): ${QUERY}"
    semsearch search "${QUERY}" -k 3 --mode dense --api "${API}"
done
echo "== POST /search (hybrid, one best chunk per document): read and write zip archives"
semsearch search "read and write zip archives" -k 3 --group --api "${API}"

kill "${SERVER}" 2>/dev/null || true; wait "${SERVER}" 2>/dev/null || true  # free the .db for the commands below
cat <<NEXT

== done. Next, try (the README's "Next" section):
  source .venv/bin/activate            # or call .venv/bin/semsearch
  semsearch search "read and write zip archives"
  semsearch serve                      # then open http://127.0.0.1:8000/docs, or the search page at http://127.0.0.1:8000/
  semsearch ingest path/to/your/docs/  # your own files, into the same ./data/milvus.db
NEXT
