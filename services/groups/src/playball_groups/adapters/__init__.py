"""SQL and JWKS adapters of the service's ports."""
