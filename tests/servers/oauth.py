"""Google OAuth pieces for the local servers: a service-account key file whose token_uri points at a local server,
and the RS256 check Google's token endpoint does on the JWT assertion it receives."""

from __future__ import annotations

import base64
from typing import Any


def verify_jwt(assertion: str, public_key: Any) -> bool:
    """RS256 signature check of a JWT (what Google's token endpoint does with a service account's key)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        head, payload, sig = assertion.split(".")
        public_key.verify(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)), f"{head}.{payload}".encode(),
                          padding.PKCS1v15(), hashes.SHA256())
    except (ValueError, InvalidSignature):
        return False
    return True


def service_account(token_uri: str, project: str = "my-proj") -> tuple[dict[str, Any], Any]:
    """A service-account key file (fresh RSA key) whose token_uri is a local server, and its public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": project, "private_key_id": "local-key-1",
            "private_key": pem, "client_email": f"runner@{project}.iam.gserviceaccount.com",
            "client_id": "1234567890", "token_uri": token_uri}
    return info, key.public_key()
