"""WSGI entry point: ``gunicorn -c python:checker.web.gunicorn_conf wsgi:app``."""

from checker.web import create_app

app = create_app()
