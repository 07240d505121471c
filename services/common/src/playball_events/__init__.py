"""Event plumbing both services run: generated contracts, serde, manifest, settings."""
