"""Claude on Amazon Bedrock (`anthropic-bedrock:MODEL_ID`) and Google Vertex AI (`anthropic-vertex:MODEL@VERSION`),
through the anthropic SDK's AsyncAnthropicBedrock / AsyncAnthropicVertex clients.

The request and its parsing are the anthropic provider's (subclasses, no copy): the same thinking parameters
(budget_tokens with its 1,024 minimum, or adaptive thinking with output_config.effort), the same reasoning-token
measurement. The SDK clients move the model into the URL (Bedrock /model/ID/invoke, Vertex
.../publishers/anthropic/models/MODEL:rawPredict) and set anthropic_version for the platform.

Capabilities come from the anthropic rows: the platform id is normalised first
(`us.anthropic.claude-sonnet-4-5-20250929-v1:0` and `claude-sonnet-4-5@20250929` both read as
claude-sonnet-4-5-20250929); prices from the platforms' own rows in prices.yaml. Neither platform has the
Message Batches API here, so --batch is refused.

Credentials, from each platform's usual environment:
- Bedrock: AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key), else the AWS credential chain (AWS_ACCESS_KEY_ID /
  AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE or `aws_profile`, SSO, instance roles); requests are
  SigV4-signed by botocore. Region: `region` option, else AWS_REGION / AWS_DEFAULT_REGION / the profile's.
- Vertex: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default
  login`, metadata server). Region: `region`, else CLOUD_ML_REGION; project: `project`, else
  ANTHROPIC_VERTEX_PROJECT_ID, else the credentials' project.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ..budget import BudgetPlan
from ..core import Completion
from ..errors import ModelUnavailable
from ..secrets import get_key
from .anthropic import AnthropicModel
from .apibase import ApiModel
from .base import ModelSpec
from .capabilities import capabilities

_URL_AT = re.compile(r"^(.+?)@([A-Za-z][A-Za-z0-9+.-]*://.+)$")


def canonical_claude(model: str) -> str:
    """The Anthropic API name of a Bedrock or Vertex model id (for the capability and price tables)."""
    name = model.rsplit("/", 1)[-1]  # Bedrock ARNs: .../inference-profile/us.anthropic.claude-...
    name = re.sub(r"^(?:[a-z]{2,6}\.)?anthropic\.", "", name)  # us. / eu. / apac. / global. profiles
    name = re.sub(r"-v\d+(?::\d+)?$", "", name)  # -v1:0
    return name.replace("@", "-")  # Vertex claude-sonnet-4-5@20250929


class _PlatformClaude(AnthropicModel):
    """Anthropic's request/response over a platform client. Subclasses build `self.client`."""

    extra_options = frozenset({"base_url", "region"})
    batch_api = False  # the inherited batch methods have no API behind them on this platform

    def __init__(self, spec: ModelSpec, options: dict[str, Any]) -> None:
        # ApiModel's setup only: AnthropicModel.__init__ would want ANTHROPIC_API_KEY and build a direct client.
        ApiModel.__init__(self, spec, options)
        self.anthropic_name = canonical_claude(spec.model)
        self.caps = capabilities("anthropic", self.anthropic_name, options.get("capabilities"))
        try:
            self.client = self._platform_client(spec.base_url or options.get("base_url"))
        except (ValueError, ImportError) as exc:
            raise ModelUnavailable(f"{spec}: {exc}") from None

    def _platform_client(self, base_url: str | None) -> Any:
        raise NotImplementedError

    def completion(self, message: Any, plan: BudgetPlan, latency_s: float, *, batch: bool = False) -> Completion:
        out = super().completion(message, plan, latency_s, batch=batch)
        out.extra["platform"] = self.provider.removeprefix("anthropic-")
        return out


class BedrockClaude(_PlatformClaude):
    provider = "anthropic-bedrock"
    extra_options = _PlatformClaude.extra_options | {"aws_profile"}

    def _platform_client(self, base_url: str | None) -> Any:
        import anthropic

        profile = self.options.get("aws_profile")
        if os.environ.get("AWS_BEARER_TOKEN_BEDROCK"):
            token = get_key("AWS_BEARER_TOKEN_BEDROCK", env_file=None, what=str(self.spec))  # registered for redaction
            return anthropic.AsyncAnthropicBedrock(api_key=token, aws_region=self.options.get("region"),
                                                   base_url=base_url, max_retries=0, timeout=self.timeout_s)
        import boto3

        credentials = boto3.Session(profile_name=profile).get_credentials()
        if credentials is None:
            raise ModelUnavailable(f"{self.spec}: no AWS credentials found: set AWS_ACCESS_KEY_ID / "
                                   f"AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or AWS_BEARER_TOKEN_BEDROCK")
        return anthropic.AsyncAnthropicBedrock(aws_region=self.options.get("region"), aws_profile=profile,
                                               base_url=base_url, max_retries=0, timeout=self.timeout_s)


class VertexClaude(_PlatformClaude):
    provider = "anthropic-vertex"
    extra_options = _PlatformClaude.extra_options | {"project"}

    def _platform_client(self, base_url: str | None) -> Any:
        import anthropic
        import google.auth
        from google.auth.exceptions import GoogleAuthError

        try:  # loaded now, so missing credentials stop the run before it starts
            creds, adc_project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        except GoogleAuthError as exc:
            raise ModelUnavailable(f"{self.spec}: no Google Cloud credentials: {exc}") from None
        project = self.options.get("project") or os.environ.get("ANTHROPIC_VERTEX_PROJECT_ID") or adc_project
        if not project:
            raise ModelUnavailable(f"{self.spec}: no Google Cloud project: set model_options.{self.spec}.project "
                                   f"or ANTHROPIC_VERTEX_PROJECT_ID")
        region = self.options.get("region") or os.environ.get("CLOUD_ML_REGION")
        if not region:
            raise ModelUnavailable(f"{self.spec}: no Vertex AI region: set model_options.{self.spec}.region or "
                                   f"CLOUD_ML_REGION (e.g. global, us-east5)")
        return anthropic.AsyncAnthropicVertex(region=region, project_id=project, credentials=creds,
                                              base_url=base_url, max_retries=0, timeout=self.timeout_s)


def vertex_spec(spec: ModelSpec) -> ModelSpec:
    """Vertex model names carry '@VERSION' (claude-sonnet-4-5@20250929), which the spec parser reads as the start
    of a base URL: re-join them, and take as base URL only a part that is a URL."""
    if not spec.base_url:
        return spec
    match = _URL_AT.match(f"{spec.model}@{spec.base_url}")
    if match:
        return ModelSpec(spec.provider, match.group(1), match.group(2))
    return ModelSpec(spec.provider, f"{spec.model}@{spec.base_url}")


def create_bedrock(spec: ModelSpec, options: dict[str, Any]) -> BedrockClaude:
    return BedrockClaude(spec, options)


def create_vertex(spec: ModelSpec, options: dict[str, Any]) -> VertexClaude:
    return VertexClaude(vertex_spec(spec), options)
