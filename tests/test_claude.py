"""faces/assistant/claude.py: the model id, the API key, the client, and one clear AssistantError per kind of
API failure. The errors are built as the anthropic SDK builds them (an httpx response); nothing is sent."""

from __future__ import annotations

import anthropic
import httpx2 as httpx  # the HTTP client the anthropic SDK is built on
import pytest

from icp_agent.errors import UserError
from icp_agent.faces.assistant.claude import (
    DEFAULT_MODEL,
    AssistantError,
    api_key_from_env,
    explain,
    make_client,
    resolve_model,
)

REQUEST = httpx.Request("POST", "https://api.anthropic.test/v1/messages")


def api_error(cls: type[anthropic.APIStatusError], status: int, message: str = "bad") -> anthropic.APIStatusError:
    response = httpx.Response(status, request=REQUEST, headers={"request-id": "req_1"})
    return cls(message, response=response, body={"error": {"message": message}})


def test_resolve_model(monkeypatch):
    monkeypatch.delenv("ICP_AGENT_MODEL", raising=False)
    assert resolve_model() == DEFAULT_MODEL
    monkeypatch.setenv("ICP_AGENT_MODEL", "claude-env")
    assert resolve_model() == "claude-env" and resolve_model("claude-flag") == "claude-flag"


def test_api_key_and_client(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    assert api_key_from_env() is None
    with pytest.raises(AssistantError) as caught:
        make_client()
    assert isinstance(caught.value, UserError) and "set ANTHROPIC_API_KEY" in str(caught.value)
    assert "offline" in caught.value.hint
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/")
    client = make_client("sk-test", max_retries=0, timeout=5)
    assert (client.api_key, client.max_retries, str(client.base_url)) == ("sk-test", 0, "http://127.0.0.1:9/")
    assert str(make_client("sk-test", "http://other.test/").base_url) == "http://other.test/"


@pytest.mark.parametrize(
    ("cls", "status", "message", "says", "hint"),
    [
        (anthropic.AuthenticationError, 401, "bad", "refused the API key (401) (request id req_1)", "ANTHROPIC_API_KEY"),
        (anthropic.PermissionDeniedError, 403, "no access", "may not use m1 (403: no access)", "--model"),
        (anthropic.NotFoundError, 404, "bad", "does not know the model 'm1' (404)", DEFAULT_MODEL),
        (anthropic.RateLimitError, 429, "bad", "rate limited by the Anthropic API (429)", "wait a minute"),
        (anthropic.BadRequestError, 400, "prompt is too long: 300000 tokens", "no longer fits m1's context window",
         "narrower tool calls"),
        (anthropic.BadRequestError, 400, "messages: bad role", "rejected the request (400: messages: bad role)",
         "bug in icp-agent"),
        (anthropic.InternalServerError, 500, "boom", "failed (500: boom), still after retries", "try again later"),
    ],
)  # fmt: skip
def test_explain_each_kind_of_failure(cls, status, message, says, hint):
    error = explain(api_error(cls, status, message), "m1")
    assert isinstance(error, AssistantError)
    assert says in str(error) and hint in error.hint


def test_explain_connection_failures():
    assert "could not reach the Anthropic API" in str(explain(anthropic.APIConnectionError(request=REQUEST), "m"))
    timeout = explain(anthropic.APITimeoutError(request=REQUEST), "m")
    assert "did not answer in time" in str(timeout) and "connection" in timeout.hint
    other = explain(anthropic.AnthropicError("odd"), "m")
    assert str(other) == "the Anthropic API call failed: odd"
