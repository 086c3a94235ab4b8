#!/usr/bin/env bash
# Loads Strom's Kibana saved objects (a data view and saved searches) once Kibana answers.
#
# Environment: KIBANA_URL (e.g. http://kibana:5601), SAVED_OBJECTS (the .ndjson file),
# IMPORT_ATTEMPTS (default 60) and IMPORT_RETRY_DELAY_S (default 5).
set -euo pipefail

url="${KIBANA_URL:?KIBANA_URL must name Kibana, e.g. http://kibana:5601}"
file="${SAVED_OBJECTS:?SAVED_OBJECTS must name the saved objects file (.ndjson)}"
attempts="${IMPORT_ATTEMPTS:-60}"
delay="${IMPORT_RETRY_DELAY_S:-5}"

if [[ ! -r "$file" ]]; then
  echo "kibana-setup: cannot read $file" >&2
  exit 1
fi

for ((attempt = 1; attempt <= attempts; attempt++)); do
  # Until Kibana is up, curl cannot connect or Kibana answers 503 "not ready": try again.
  # An import Kibana answered with "success":false will not get better by retrying.
  response=$(curl -sS -X POST "$url/api/saved_objects/_import?overwrite=true" \
    -H "kbn-xsrf: strom" --form "file=@$file" 2>&1) || true
  if [[ "$response" == *'"success":true'* ]]; then
    echo "kibana-setup: imported $file: $response"
    exit 0
  fi
  if [[ "$response" == *'"success":false'* ]]; then
    echo "kibana-setup: Kibana refused $file: $response" >&2
    exit 1
  fi
  echo "kibana-setup: Kibana not ready (attempt $attempt of $attempts): ${response:0:200}" >&2
  sleep "$delay"
done
echo "kibana-setup: Kibana at $url did not answer after $attempts attempts" >&2
exit 1
