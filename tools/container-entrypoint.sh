#!/bin/sh
# The image's entrypoint (Containerfile): its first word says what the container is.
#   serve [GUNICORN ARGS]   the API server: gunicorn with the project's settings (README, "Serving and
#                           deployment"), bound to CHECKER_BIND (0.0.0.0:8080 in the image)
#   worker [CELERY ARGS]    a Celery worker of the async tasks (CHECKER_TASKS=celery, CHECKER_STORE_URL;
#                           CHECKER_WORKER_CONCURRENCY processes, 2 by default)
#   healthcheck             the HEALTHCHECK: /healthz of the server, or a ping of the worker
#   anything else           run as given (idphoto keys create ..., idphoto check ..., sh)
# The installed wheel has no wsgi.py (it is the checkout's); gunicorn calls the app factory instead.
set -eu

case "${1:-serve}" in
serve)
    [ $# -gt 0 ] && shift
    exec gunicorn -c python:checker.web.gunicorn_conf "$@" 'checker.web:create_app()'
    ;;
worker)
    shift
    exec celery -A checker.tasks.celery_app worker --hostname "idphoto@%h" \
        --concurrency "${CHECKER_WORKER_CONCURRENCY:-2}" --loglevel "${CHECKER_LOG_LEVEL:-info}" "$@"
    ;;
healthcheck)
    # The container's first process says which it is (/proc/1 is the entrypoint's exec).
    if tr '\0' ' ' </proc/1/cmdline 2>/dev/null | grep -q 'celery'; then
        exec celery -A checker.tasks.celery_app inspect ping --timeout 5 --destination "idphoto@$(hostname)" \
            >/dev/null
    fi
    port="${CHECKER_BIND##*:}"
    exec python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=8).read()' \
        "http://127.0.0.1:${port}/healthz"
    ;;
*)
    exec "$@"
    ;;
esac
