"""gunicorn for Panoled's web app: `gunicorn -c deploy/gunicorn.conf.py "cms:create_app()"`.

Threads as well as processes: a board's or web player's long-poll holds a thread for up
to 25 s, and uploads stream through. Listens on 127.0.0.1 only: nginx stands in front. GUNICORN_BIND, GUNICORN_WORKERS and
GUNICORN_THREADS change the defaults (not PANOLED_*: those are Panoled's own settings,
and an unknown one stops it).
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(4, multiprocessing.cpu_count() * 2)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 120  # a 2 GB upload over a slow link streams longer than gunicorn's default 30 s
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # workers renewed now and then: memory stays flat over months
max_requests_jitter = 500
forwarded_allow_ips = "127.0.0.1"
accesslog = "-"
errorlog = "-"


def post_worker_init(worker):  # noqa: ANN001, ARG001 (gunicorn's hook)
    """Once a worker has loaded the app: its long-lived objects are left out of garbage
    collection (cms.runtime.settle)."""
    from cms.runtime import settle

    settle()
