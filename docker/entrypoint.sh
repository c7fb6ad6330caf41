#!/bin/sh
# web | worker | beat | migrate | <any command>
set -e
case "$1" in
  web)
    # Processes, not threads, by default: a request is mostly Python, and threads of one
    # process share its interpreter lock while other processes may idle (gunicorn's rule
    # of thumb, 2 × cores + 1, behind the TLS proxy that buffers slow clients).
    exec gunicorn portal.wsgi --bind 0.0.0.0:8000 --workers "${WEB_WORKERS:-$((2 * $(nproc) + 1))}" \
      --threads "${WEB_THREADS:-1}" \
      --access-logfile - --access-logformat '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms' \
      --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" ;;
  worker)
    # --without-mingle: at every (re)connection mingle waits a second for other workers to
    # share revoked task ids, which the portal never uses; email held back waits for it.
    exec celery -A portal worker -l info --concurrency "${WORKER_CONCURRENCY:-4}" -Q "${CELERY_QUEUE:-continuum}" \
      --without-mingle ;;
  beat)
    exec celery -A portal beat -l info --schedule /tmp/celerybeat-schedule ;;
  migrate)
    python manage.py migrate_schemas --shared
    exec python manage.py migrate_stale ;;
  *)
    exec "$@" ;;
esac
