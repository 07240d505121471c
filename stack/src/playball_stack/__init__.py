"""playball_stack."""
