"""playball_schemagate."""
