"""What the auth and groups services are built on, so each keeps only its own domain, use
cases and routes: database engines and migrations (:mod:`.database_sql`,
:mod:`.migrations_sql`), the ``playball <service>`` command scaffolding (:mod:`.cli`), the
API's ``{detail, code}`` error body and handlers (:mod:`.api_errors`), the request-body
limits both APIs enforce (:mod:`.http_limits`, 413 and 415), the unit-of-work
base (:mod:`.unit_of_work`) and the rule for names people see (:mod:`.names`, pure Python,
so the services' domains use it)."""
