"""playball_codegen."""
