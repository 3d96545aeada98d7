"""Claude's Messages API as Amazon Bedrock and Google Vertex AI serve it, for the anthropic SDK's
AsyncAnthropicBedrock / AsyncAnthropicVertex clients in tests. The model behaviour, log and faults are FakeAPI's.

- Bedrock: POST /model/{model_id}/invoke. The body must carry an anthropic_version (this SDK sends its own API
  version; the platforms' documented ones are bedrock-2023-05-31 / vertex-2023-10-16) and no `model`. The request
  must be SigV4-signed for service "bedrock" with the configured AWS key - the signature is recomputed here with
  botocore from the signed headers and compared (403 on a mismatch, as AWS answers) - or carry
  `Authorization: Bearer <bedrock_api_key>`.
- Vertex: POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict, the same
  body rules; the bearer token must be the one POST /token issued for a service account whose JWT verifies with
  `public_key` (401 otherwise).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .fake_api import FakeAPI
from .oauth import verify_jwt


class ClaudeCloudAPI(FakeAPI):
    def __init__(self, *, aws_key: tuple[str, str] = ("AKIDLOCALTEST0000", "local/secret/key/0000"),
                 region: str = "us-east-1", bedrock_api_key: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.aws_key, self.region, self.bedrock_api_key = aws_key, region, bedrock_api_key
        self.token = "ya29.vertex-local"
        self.public_key: Any = None
        self.app.router.routes[:0] = [
            Route("/model/{model}/invoke", self.bedrock_invoke, methods=["POST"]),
            Route("/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{call}", self.vertex_predict,
                  methods=["POST"]),
            Route("/token", self.oauth_token, methods=["POST"]),
        ]

    async def oauth_token(self, request: Request) -> Response:
        form = dict(await request.form())
        self.log.append({"path": "/token", "headers": dict(request.headers), "body": form})
        if self.public_key is None or not verify_jwt(str(form.get("assertion", "")), self.public_key):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse({"access_token": self.token, "expires_in": 3600, "token_type": "Bearer"})

    def _sigv4_ok(self, request: Request, raw: bytes) -> bool:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        auth = request.headers.get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return False
        fields = dict(part.strip().split("=", 1) for part in auth.removeprefix("AWS4-HMAC-SHA256 ").split(","))
        signed = fields["SignedHeaders"].split(";")
        url = f"http://{request.headers['host']}{request.scope['raw_path'].decode()}"
        aws = AWSRequest(method="POST", url=url, data=raw, headers={h: request.headers[h] for h in signed})
        aws.context["timestamp"] = request.headers["x-amz-date"]
        signer = SigV4Auth(Credentials(*self.aws_key), "bedrock", self.region)
        expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
        return fields["Credential"].startswith(self.aws_key[0] + "/") and fields["Signature"] == expected

    async def bedrock_invoke(self, request: Request) -> Response:
        raw = await request.body()
        token_ok = self.bedrock_api_key and request.headers.get("authorization") == f"Bearer {self.bedrock_api_key}"
        if not token_ok and not self._sigv4_ok(request, raw):
            return JSONResponse({"message": "The request signature we calculated does not match the signature "
                                            "you provided."}, status_code=403)
        return await self._cloud_reply(request, request.path_params["model"])

    async def vertex_predict(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": {"code": 401, "message": "Request had invalid authentication "
                                           "credentials.", "status": "UNAUTHENTICATED"}}, status_code=401)
        model, _, method = request.path_params["call"].partition(":")
        if method != "rawPredict":
            return JSONResponse({"error": {"code": 404, "message": method}}, status_code=404)
        return await self._cloud_reply(request, model)

    async def _cloud_reply(self, request: Request, model: str) -> Response:
        body, fault = await self._intake(request)
        if fault is not None:
            return fault
        if not body.get("anthropic_version") or "model" in body:
            return JSONResponse({"type": "error", "error": {"type": "invalid_request_error",
                                 "message": "anthropic_version is required; the model goes in the URL"}},
                                status_code=400)
        self.billed.append(request.url.path)
        return JSONResponse(self.anthropic_message({**body, "model": model}))
