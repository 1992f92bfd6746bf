"""Async ID-photo tasks (seed 002): a store (SQLite on one machine, or the shared Redis store of
checker/store/), a runner (threads or Celery), callbacks."""
