#!/bin/sh
# Creates the namespace the worker and receiver use, and the custom search
# attributes their workflows set: the one-shot temporal-create-namespace job of
# docker-compose.yml runs it once the server is healthy. It follows
# temporalio/samples-server compose/scripts/create-namespace.sh, plus the
# search attributes (`temporal operator search-attribute create`).
#
# Safe on every `docker compose up`: an existing namespace is left as it is,
# and an attribute already registered is skipped.
#
# Environment (set by docker-compose.yml):
#   TEMPORAL_ADDRESS     the frontend, host:port
#   DEFAULT_NAMESPACE    the namespace to create
#   NAMESPACE_RETENTION  how long closed workflows are kept, e.g. 7d
#   SEARCH_ATTRIBUTES    space-separated Name=Type pairs, e.g. "CallStatus=Keyword AgentId=Keyword"
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
: "${DEFAULT_NAMESPACE:?DEFAULT_NAMESPACE is required}"
: "${NAMESPACE_RETENTION:=7d}"
: "${SEARCH_ATTRIBUTES:=}"

# Dial the server by IPv4 address, as samples-server does: resolving the
# service name inside the CLI has failed there.
host=${TEMPORAL_ADDRESS%:*}
port=${TEMPORAL_ADDRESS##*:}
ip=$(getent ahosts "$host" 2>/dev/null | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }') || ip=
address="${ip:-$host}:$port"

echo "Waiting for the Temporal server at $TEMPORAL_ADDRESS ($address)..."
tries=0
until temporal operator cluster health --address "$address" 2>/dev/null | grep -q SERVING; do
	tries=$((tries + 1))
	if [ "$tries" -ge 60 ]; then
		echo "Temporal at $TEMPORAL_ADDRESS is not serving" >&2
		exit 1
	fi
	sleep 2
done

if temporal operator namespace describe --namespace "$DEFAULT_NAMESPACE" --address "$address" >/dev/null 2>&1; then
	echo "Namespace $DEFAULT_NAMESPACE already exists"
else
	echo "Creating namespace $DEFAULT_NAMESPACE (retention $NAMESPACE_RETENTION)"
	temporal operator namespace create --namespace "$DEFAULT_NAMESPACE" --retention "$NAMESPACE_RETENTION" \
		--address "$address"
fi

# A new namespace reaches the server's namespace cache a few seconds later.
tries=0
until existing=$(temporal operator search-attribute list --namespace "$DEFAULT_NAMESPACE" --address "$address" 2>/dev/null); do
	tries=$((tries + 1))
	echo "Waiting for namespace $DEFAULT_NAMESPACE to become usable..."
	if [ "$tries" -ge 30 ]; then
		echo "Namespace $DEFAULT_NAMESPACE is not usable" >&2
		exit 1
	fi
	sleep 2
done

for spec in $SEARCH_ATTRIBUTES; do
	name=${spec%%=*}
	type=${spec#*=}
	if printf '%s\n' "$existing" | awk -v n="$name" '$1 == n { found = 1 } END { exit !found }'; then
		echo "Search attribute $name already registered"
		continue
	fi
	echo "Registering search attribute $name ($type)"
	temporal operator search-attribute create --namespace "$DEFAULT_NAMESPACE" --name "$name" --type "$type" \
		--address "$address"
done
echo "Namespace $DEFAULT_NAMESPACE is ready"
