"""The service's processes: the HTTP API, the event consumer, and the CLI starting them."""
