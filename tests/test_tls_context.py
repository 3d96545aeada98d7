"""The API providers' TLS context (providers/apibase.py `tls_context`): one per process, built by the HTTP library
the SDK uses, shared by every model's client, still verifying certificates, and built again when SSL_CERT_FILE
changes. Against a real HTTPS server (uvicorn with a self-signed certificate) through the real openai and anthropic
SDKs."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from servers.fake_api import FakeAPI

from overthink.providers import load_model

FAST = {"max_attempts": 1, "timeout_s": 20}


def self_signed(folder: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 signed by its own key: (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "overthink test server")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@pytest.fixture
def https_api(tmp_path):
    pytest.importorskip("aiohttp")  # the api extra has it: the SDK clients overthink builds are aiohttp ones
    cert, key = self_signed(tmp_path)
    api = FakeAPI().start(tls=(cert, key))
    yield api, cert
    api.stop()


async def _ask(model) -> str:
    reply = await model.client.chat.completions.create(model="m", messages=[{"role": "user", "content": "1+1?"}],
                                                       max_tokens=64)
    return reply.choices[0].message.content


def _loads_of_ca_stores(monkeypatch) -> list[tuple]:
    loads: list[tuple] = []
    real = ssl.SSLContext.load_verify_locations

    def counted(self, *args, **kwargs):
        loads.append(args or tuple(kwargs.values()))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    return loads


def test_models_share_one_verifying_context_and_ssl_cert_file_makes_a_new_one(https_api, monkeypatch):
    api, cert = https_api
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    loop = asyncio.new_event_loop()
    try:
        # the system's store does not know the server's certificate: verification refuses it
        untrusted = load_model(f"openai-compatible:m@{api.url}/v1", FAST)
        with pytest.raises(Exception) as refused:
            loop.run_until_complete(_ask(untrusted))
        chain, error = [], refused.value
        while error is not None:
            chain.append(error)
            error = error.__cause__ or error.__context__
        assert any(isinstance(e, ssl.SSLCertVerificationError) for e in chain), chain
        assert not api.log  # no request reached the server

        # SSL_CERT_FILE names the certificate: a new context that trusts it, built once for every model after it
        monkeypatch.setenv("SSL_CERT_FILE", cert)
        loads = _loads_of_ca_stores(monkeypatch)
        first = load_model(f"openai-compatible:m@{api.url}/v1", FAST)
        assert loop.run_until_complete(_ask(first))
        built = len(loads)
        assert built == 1 and cert in loads[0], loads
        more = [load_model(spec, FAST) for spec in (f"openai:o4-mini@{api.url}/v1", f"openai-compatible:n@{api.url}/v1",
                                                     f"anthropic:claude-sonnet-4-5@{api.url}")]
        assert len(loads) == built  # no CA store loaded again
        assert loop.run_until_complete(_ask(more[1]))
        assert len(api.log) == 2
        for model in (first, untrusted, *more):
            loop.run_until_complete(model.aclose())
    finally:
        loop.close()
