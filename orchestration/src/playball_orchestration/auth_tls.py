"""The auth API's certificate, from the stack's CA (:mod:`playball_stack.tls`).

`playball up` serves auth over https so that groups, fetching auth's JWKS, and the
supervisor, checking auth's health, talk to auth itself: a process that binds auth's
port while auth is down has no certificate the stack's CA signed.
"""

from pathlib import Path

from playball_stack.tls import ca_files, ensure_server_certificate, server_files

from playball_orchestration.services import AuthTls

AUTH_CERTIFICATE = "auth-api"  # <home>/tls/auth-api.pem and auth-api-key.pem


def auth_tls(home: Path) -> AuthTls:
    """Where auth's certificate, key and CA are under ``home``; nothing is created."""
    files = server_files(home, AUTH_CERTIFICATE)
    return AuthTls(files.certificate, files.key, ca_files(home).certificate)


def ensure_auth_tls(home: Path) -> AuthTls:
    """Auth's certificate, issued (with the CA, if missing) when absent or stale."""
    files = ensure_server_certificate(home, AUTH_CERTIFICATE)
    return AuthTls(files.certificate, files.key, ca_files(home).certificate)
