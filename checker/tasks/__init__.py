"""Async ID-photo tasks (seed 002): a SQLite store, a runner (threads or Celery), callbacks."""
