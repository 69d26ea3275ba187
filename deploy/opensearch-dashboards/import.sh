#!/bin/sh
# Imports spate.ndjson (index patterns spate-transaction_aggregates* and spate-transaction_anomalies*, visualisations,
# a saved search and the dashboard "spate: aggregates and anomalies") into OpenSearch
# Dashboards through its saved objects API, replacing earlier versions. POSIX sh and curl only:
# deploy/compose.yaml runs it in a curl image once Dashboards answers.
#   deploy/opensearch-dashboards/import.sh [URL]     default http://127.0.0.1:5601
set -eu
URL=${1:-${OSD_URL:-http://127.0.0.1:5601}}
HERE=$(cd "$(dirname "$0")" && pwd)
i=0
until curl -fsS "$URL/api/status" >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -le 120 ] || { echo "import: $URL did not answer in 4 minutes" >&2; exit 1; }
  sleep 2
done
out=$(curl -fsS -X POST "$URL/api/saved_objects/_import?overwrite=true" -H "osd-xsrf: true" \
  --form file=@"$HERE/spate.ndjson")
echo "$out"
case "$out" in *'"success":true'*) ;; *) echo "import: failed" >&2; exit 1 ;; esac
