"""Where the local stack listens by default: the one fact the runtime and the stack share.

The runtime settings default to these addresses so a service runs against the dev stack
with no configuration; the stack listens on them unless told otherwise, and whatever
starts a service passes it the effective addresses.
"""

DEFAULT_KAFKA_PORT = 19092
DEFAULT_REGISTRY_PORT = 18081
DEFAULT_POSTGRES_PORT = 15432
REGISTRY_API_PATH = "/apis/ccompat/v7"

DEFAULT_KAFKA_BOOTSTRAP = f"127.0.0.1:{DEFAULT_KAFKA_PORT}"
DEFAULT_REGISTRY_URL = f"http://127.0.0.1:{DEFAULT_REGISTRY_PORT}{REGISTRY_API_PATH}"
# no role and no password: each service connects as its own role, whose URL comes from
# the environment or the stack's credentials files (playball_core.local_stack)
DEFAULT_DATABASE_URL = f"postgresql+psycopg://127.0.0.1:{DEFAULT_POSTGRES_PORT}/playball"
