"""Errors the whole application shares. Each carries the HTTP status a web view should answer with,
so the HTTP layer never guesses (as pygeoapi's provider errors do)."""


class AssetmapError(Exception):
    http_status = 500
    default_message = "something went wrong"

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details or {}


class BadInputError(AssetmapError):
    http_status = 400
    default_message = "the request is not valid"


class NotFoundError(AssetmapError):
    http_status = 404
    default_message = "not found"


class ConflictError(AssetmapError):
    http_status = 409
    default_message = "it changed since you opened it"


class DatabaseUnavailableError(AssetmapError):
    http_status = 503
    default_message = "the database is not available"


class ImportFileError(AssetmapError):
    """A whole file cannot be imported (missing, wrong format, wrong CRS)."""

    http_status = 400


class TooManyRequestsError(AssetmapError):
    """A client asked for more of something limited than its share; ``details["retry_after"]``
    says in how many seconds it may ask again."""

    http_status = 429
    default_message = "too many requests; please wait and try again"


class ServiceBusyError(AssetmapError):
    """The service is busy with as much of some work as it takes at once (not the client's fault);
    ``details["retry_after"]`` says when to try again."""

    http_status = 503
    default_message = "the service is busy just now; please try again in a moment"
