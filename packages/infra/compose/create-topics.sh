#!/usr/bin/env bash
# Creates every topic listed in topics.txt (the one list, beside this script) on the broker.
# Run by the `kafka-init` service of docker-compose.yml inside the apache/kafka image, once `kafka` is healthy.
# Idempotent: --if-not-exists, so `docker compose up` can run it again on every start.
set -euo pipefail

bootstrap="${BOOTSTRAP_SERVER:-kafka:19092}"
partitions="${TOPIC_PARTITIONS:-3}"
replication="${TOPIC_REPLICATION_FACTOR:-1}"
topics_file="${TOPICS_FILE:-$(dirname "$0")/topics.txt}"
kafka_topics="${KAFKA_BIN_DIR:-/opt/kafka/bin}/kafka-topics.sh"

count=0
while IFS= read -r line || [[ -n "$line" ]]; do
  topic="${line%%#*}"                 # drop comments
  topic="${topic//[[:space:]]/}"      # and whitespace
  [[ -z "$topic" ]] && continue
  "$kafka_topics" --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor "$replication"
  count=$((count + 1))
done < "$topics_file"

echo "kafka-init: ${count} topics ensured on ${bootstrap}"
"$kafka_topics" --bootstrap-server "$bootstrap" --list
