"""The one error type the library raises for bad input; each web family maps it to its envelope."""

from __future__ import annotations

# Stable machine status -> HTTP code. Web blueprints translate these into their seed's envelope.
HTTP_CODES: dict[str, int] = {
    "EMPTY_IMAGE": 400,
    "CORRUPT_IMAGE": 400,
    "INVALID_IMAGE_FORMAT_OR_SIZE": 400,
    "IMAGE_FILE_SIZE_TOO_BIG": 400,
    "INVALID_ARGUMENT": 400,
    "UNKNOWN_SPEC": 400,
    "NO_FACE_DETECTED": 400,
    "TOO_MANY_FACES": 400,
    "NO_PERSON_DETECTED": 400,
    "ENCODING_ERROR": 400,
    "DOWNLOAD_TIMEOUT": 400,
    "DOWNLOAD_ERROR": 400,
    "IMAGE_ID_NOT_EXIST": 400,
    "MODEL_UNAVAILABLE": 400,
    "CANNOT_FRAME": 400,
    "FILE_SIZE_UNREACHABLE": 400,
    "PHOTO_TOO_BIG_FOR_PAPER": 400,
    "UNAUTHORIZED": 401,
    "KEY_EXPIRED": 401,
    "NO_PERMISSION": 403,
    "OUT_OF_QUOTA": 403,
    "RATE_LIMIT_EXCEEDED": 429,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "PAYLOAD_TOO_LARGE": 413,
    "INTERNAL_ERROR": 500,
    "REMOTE_DETECTOR_ERROR": 502,
}


class CheckerError(Exception):
    """A failure with a stable status (``NO_FACE_DETECTED``) and a human message."""

    def __init__(self, status: str, message: str, *, http: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.http = http if http is not None else HTTP_CODES.get(status, 400)
        self.retry_after: int | None = None  # seconds, sent as Retry-After (rate limits)

    def __repr__(self) -> str:
        return f"CheckerError({self.status!r}, {self.message!r})"
