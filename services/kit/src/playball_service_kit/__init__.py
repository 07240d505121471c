"""What the auth and groups services are built on, so each keeps only its own domain, use
cases and routes: database engines and migrations (:mod:`.database_sql`,
:mod:`.migrations_sql`), the ``playball <service>`` command scaffolding (:mod:`.cli`), the
API's ``{detail, code}`` error body and handlers (:mod:`.api_errors`) and the unit-of-work
base (:mod:`.unit_of_work`)."""
