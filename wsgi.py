"""WSGI entry point: ``gunicorn -c python:checker.web.gunicorn_conf wsgi:app``.

Under a plain ``gunicorn wsgi:app`` (no config, so no worker hooks) the tasks a previous run left
are resumed here, in each worker as it starts (with ``--preload``, in each worker just after the fork).
"""

from checker.web import create_app
from checker.web.server import resume_tasks_in_each_worker

app = create_app()
resume_tasks_in_each_worker(app)
