#!/bin/sh
# Run once by the postgres image when the primary's data folder is created
# (/docker-entrypoint-initdb.d): a role the streaming replica connects as, allowed to
# replicate over the compose network with its password.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
