"""playball_auth."""
