#!/bin/sh
# Creates and migrates Temporal's two PostgreSQL databases: the one-shot
# temporal-admin-tools job of docker-compose.yml runs it before the server
# starts. It follows temporalio/samples-server compose/scripts/setup-postgres.sh.
#
# Safe on every `docker compose up`: `create` and `setup-schema -v 0.0` do
# nothing on a database that is already there (temporalio/temporal#2104), and
# `update-schema` applies only the versions newer than the one recorded.
# Upgrading the admin-tools image together with the server therefore migrates
# the schemas before the new server starts.
#
# Environment (set by docker-compose.yml): SQL_HOST, SQL_PORT, SQL_USER and
# SQL_PASSWORD (temporal-sql-tool reads SQL_PASSWORD itself); optional
# SQL_DATABASE and SQL_VISIBILITY_DATABASE, SCHEMA_DIR (the versioned schemas
# shipped inside the admin-tools image).
set -eu

: "${SQL_HOST:?SQL_HOST is required}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:?SQL_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
: "${SQL_DATABASE:=temporal}"
: "${SQL_VISIBILITY_DATABASE:=temporal_visibility}"
: "${SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"
export SQL_PASSWORD

echo "Waiting for PostgreSQL at $SQL_HOST:$SQL_PORT..."
tries=0
until nc -z -w 2 "$SQL_HOST" "$SQL_PORT"; do
	tries=$((tries + 1))
	if [ "$tries" -ge 60 ]; then
		echo "PostgreSQL at $SQL_HOST:$SQL_PORT did not answer" >&2
		exit 1
	fi
	sleep 2
done

sql_tool() {
	temporal-sql-tool --plugin postgres12 --ep "$SQL_HOST" -p "$SQL_PORT" -u "$SQL_USER" "$@"
}

setup() { # database, schema directory
	echo "Setting up database $1 from $2"
	sql_tool --db "$1" create
	sql_tool --db "$1" setup-schema -v 0.0
	sql_tool --db "$1" update-schema -d "$2"
}

setup "$SQL_DATABASE" "$SCHEMA_DIR/temporal/versioned"
setup "$SQL_VISIBILITY_DATABASE" "$SCHEMA_DIR/visibility/versioned"
echo "Temporal schemas are up to date"
