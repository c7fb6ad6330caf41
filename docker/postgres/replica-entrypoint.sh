#!/bin/sh
# A hot standby of the primary (service db): on first start, copy it with pg_basebackup
# (-R writes the standby settings and primary_conninfo), then run postgres as a read-only
# replica streaming the primary's WAL. Reads only; the portal sends it nothing but the
# reads that may be slightly stale (search, scorecard, bulk export).
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h db -U replicator; do sleep 1; done
  PGPASSWORD="${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}" \
    pg_basebackup -h db -U replicator -D "$PGDATA" -R -X stream -c fast
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on
