"""Run the app under gunicorn from Python (``idphoto serve``), with the project's gunicorn config."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class Server(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        from . import gunicorn_conf

        settings = {k: getattr(gunicorn_conf, k) for k in dir(gunicorn_conf) if k in self.cfg.settings}
        settings.update({k: v for k, v in self.options.items() if v is not None})
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self):
        from . import create_app

        return create_app()


def access_mode(host: str) -> tuple[str, str]:
    """The address to bind and a sentence for the operator: with no active API key the service is
    open, so it binds to loopback whatever was asked."""
    import ipaddress

    from ..keys import KeyStore, default_path

    active = KeyStore(default_path()).active_count()
    if active:
        return host, f"{active} active API key(s): every API request needs one"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    note = "no API keys, so the API is open to this machine only"
    if not loopback:
        note += f"; listening on 127.0.0.1 instead of {host} (create a key with `idphoto keys create` to serve others)"
        host = "127.0.0.1"
    return host, note


def serve(host: str = "127.0.0.1", port: int = 8080, workers: int | None = None) -> None:
    """Serve until interrupted."""
    Server({"bind": f"{host}:{port}", "workers": workers}).run()
