"""Claude through the anthropic SDK: the client, the model id, and API errors a user can act on.

Transient failures (connection errors, 408, 409, 429, 5xx, 529 overloaded) are retried by the SDK itself with
exponential backoff and jitter, honouring `retry-after`; we only choose how many times (`max_retries`). What is
still failing after that becomes one AssistantError that says what went wrong and what to do. Tests build the
client with api_key, base_url and max_retries=0 explicitly, so no credential on disk is picked up and a
cassette miss fails at once.
"""

from __future__ import annotations

import os

import anthropic

from icp_agent.errors import UserError

DEFAULT_MODEL = "claude-sonnet-5-5"
MODEL_ENV = "ICP_AGENT_MODEL"
KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
DEFAULT_RETRIES = 4
TIMEOUT_S = 300.0
CONTEXT_WORDS = ("prompt is too long", "context window", "context length", "too many tokens", "maximum context")


class AssistantError(UserError):
    """The assisted run or the chat cannot go on; the message says why and what to do."""


def resolve_model(flag: str | None = None) -> str:
    """The model id: the --model flag, else ICP_AGENT_MODEL, else a current Sonnet."""
    return flag or os.environ.get(MODEL_ENV) or DEFAULT_MODEL


def api_key_from_env() -> str | None:
    """The Anthropic API key from the KEY_ENV environment variable, or None when unset or empty."""
    return os.environ.get(KEY_ENV) or None


def make_client(
    api_key: str | None = None,
    base_url: str | None = None,
    *,
    max_retries: int = DEFAULT_RETRIES,
    timeout: float = TIMEOUT_S,
) -> anthropic.AsyncAnthropic:
    """An async client with an explicit key (argument or ANTHROPIC_API_KEY) and base URL (argument or
    ANTHROPIC_BASE_URL); without a key the offline drafter is the way, and the error says so."""
    key = api_key or api_key_from_env()
    if not key:
        raise AssistantError(
            f"no Anthropic API key: set {KEY_ENV} to use Claude",
            hint="without a key, `icp-agent run` drafts the prose offline from templates; "
            "or use the MCP server (icp-agent-mcp) from Claude Desktop",
        )
    return anthropic.AsyncAnthropic(
        api_key=key, base_url=base_url or os.environ.get(BASE_URL_ENV) or None, max_retries=max_retries, timeout=timeout
    )


def explain(exc: anthropic.AnthropicError, model: str) -> AssistantError:
    """One clear message per kind of API failure (the SDK has already retried the transient ones)."""
    status = getattr(exc, "status_code", None)
    detail = getattr(exc, "api_message", None) or str(exc)
    request = getattr(exc, "request_id", None)
    suffix = f" (request id {request})" if request else ""
    if isinstance(exc, anthropic.AuthenticationError):
        return AssistantError(
            f"the Anthropic API refused the API key (401){suffix}",
            hint=f"check {KEY_ENV}: it must be a valid key of your Anthropic Console workspace",
        )
    if isinstance(exc, anthropic.PermissionDeniedError):
        return AssistantError(
            f"this API key may not use {model} (403: {detail}){suffix}",
            hint=f"choose another model with --model or {MODEL_ENV}",
        )
    if isinstance(exc, anthropic.NotFoundError):
        return AssistantError(
            f"the Anthropic API does not know the model {model!r} (404){suffix}",
            hint=f"pass a current model id with --model or {MODEL_ENV} (default {DEFAULT_MODEL})",
        )
    if isinstance(exc, anthropic.PaymentRequiredError):
        return AssistantError(
            f"the Anthropic account has no credit left (402){suffix}",
            hint="add credit in the Anthropic Console, or run without --assistant (offline)",
        )
    if isinstance(exc, anthropic.RateLimitError):
        return AssistantError(
            f"rate limited by the Anthropic API (429), still after retries{suffix}", hint="wait a minute and try again"
        )
    if isinstance(exc, anthropic.OverloadedError):
        return AssistantError(
            f"the Anthropic API is overloaded (529), still after retries{suffix}", hint="try again in a few minutes"
        )
    if isinstance(exc, anthropic.ContentTooLargeError) or (
        isinstance(exc, anthropic.BadRequestError) and any(w in detail.lower() for w in CONTEXT_WORDS)
    ):
        return AssistantError(
            f"the conversation no longer fits {model}'s context window ({detail}){suffix}",
            hint="fewer, narrower tool calls keep the conversation shorter; or choose a model with a longer context",
        )
    if isinstance(exc, anthropic.BadRequestError):
        return AssistantError(
            f"the Anthropic API rejected the request (400: {detail}){suffix}",
            hint="this is likely a bug in icp-agent: please report it with the run log",
        )
    if isinstance(exc, anthropic.InternalServerError):
        return AssistantError(
            f"the Anthropic API failed ({status}: {detail}), still after retries{suffix}", hint="try again later"
        )
    if isinstance(exc, anthropic.APITimeoutError):
        return AssistantError(
            "the Anthropic API did not answer in time, still after retries", hint="check your connection and run again"
        )
    if isinstance(exc, anthropic.APIConnectionError):
        return AssistantError(
            "could not reach the Anthropic API", hint=f"check your network, or {BASE_URL_ENV} if you set it"
        )
    return AssistantError(f"the Anthropic API call failed: {detail}{suffix}")
