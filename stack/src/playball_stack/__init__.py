"""The local dev stack: Kafka (KRaft), Apicurio Registry and PostgreSQL, without Docker."""
