"""Erasure of personal data, across the services: the bound and the audit.

``playball privacy bound`` prints how long, at most, a deleted user's personal data
stays anywhere, from the settings actually in force (the relay's, and the topics' and
brokers' as the cluster reports them). ``playball privacy audit USER_ID`` looks
everywhere the data may be: each service's own scan, run as its own program, and the
topic and its dead-letter topic, read as the admin. It imports no service: each service
scans only its own data (docs/privacy.md).
"""
