"""A local stand-in for the Anthropic Messages API, to record cassettes where the real API is not reachable.

`StandIn(model)` serves POST /v1/messages on 127.0.0.1 in the Messages format: tool_use turns, text blocks with
`search_result_location` citations, server-sent events when the request asks to stream, and errors in the
API's error shape. What it answers comes from a scripted model: a function from the request (as a
`Conversation`) to a `Reply` or an `ApiError`. Usage is estimated at four characters a token, and prompt
caching is simulated: the prefix up to a cache breakpoint (tools, system, messages, in that order) is
"created" the first time a request carries it and "read" by every later request that starts with it.

The cassette helpers below (the `vcr_config` and `api` fixtures) are shared by the test modules that record
against it, and so is `http_server`, the real MCP server over streamable HTTP for the remote runs (its traffic is
never recorded).

`DemoModel` is a well-behaved model for the assisted run on the demo data: it calls each phase's tools and
writes drafts that cite the search results it was given, with one wrong number (repaired when sent back) and
one uncited claim it will not give up (dropped). `ChatModel` answers the chat's main questions, streaming.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHARS_PER_TOKEN = 4
MIN_CACHEABLE_TOKENS = 1024


@dataclass
class Reply:
    content: list[dict[str, Any]]
    stop_reason: str = "end_turn"


@dataclass
class ApiError:
    status: int
    type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


Model = Callable[["Conversation"], "Reply | ApiError"]


def text(value: str, citations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": value}
    if citations:
        block["citations"] = citations
    return block


def tool_use(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "name": name, "input": arguments}


class Conversation:
    """A request, with the look-ups a scripted model needs."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.messages: list[dict[str, Any]] = body["messages"]

    @staticmethod
    def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
        content = message["content"]
        return [{"type": "text", "text": content}] if isinstance(content, str) else content

    @property
    def first_user_text(self) -> str:
        return "".join(b.get("text", "") for b in self._blocks(self.messages[0]) if b["type"] == "text")

    @property
    def last_user_text(self) -> str:
        return "".join(b.get("text", "") for b in self._blocks(self.messages[-1]) if b["type"] == "text")

    @property
    def last_prompt(self) -> str:
        """The text of the last user message that has text (a prompt or a question, not tool results)."""
        return next(t for m in reversed(self.messages) if m["role"] == "user"
                    for t in ["".join(b.get("text", "") for b in self._blocks(m) if b["type"] == "text")] if t)

    def calls_since_prompt(self) -> list[dict[str, Any]]:
        start = max(i for i, m in enumerate(self.messages) if m["role"] == "user"
                    and any(b["type"] == "text" for b in self._blocks(m)))
        return Conversation({**self.body, "messages": self.messages[start:]}).tool_calls()

    def tool_calls(self) -> list[dict[str, Any]]:
        """Every tool_use so far, each with its result's blocks and error flag (when answered)."""
        results = {b["tool_use_id"]: b for m in self.messages if m["role"] == "user" for b in self._blocks(m)
                   if b["type"] == "tool_result"}
        calls = []
        for message in self.messages:
            if message["role"] == "assistant":
                for block in self._blocks(message):
                    if block["type"] == "tool_use":
                        answer = results.get(block["id"], {})
                        calls.append({"name": block["name"], "input": block["input"],
                                      "content": answer.get("content", []), "is_error": answer.get("is_error", False)})
        return calls

    def last_call(self) -> dict[str, Any] | None:
        """The tool call the last user message answers, if it answers one."""
        if not any(b["type"] == "tool_result" for b in self._blocks(self.messages[-1])):
            return None
        return self.tool_calls()[-1]

    def search_results(self) -> list[dict[str, Any]]:
        """Every search_result block of the request in order, with its index (what citations count)."""
        found = []
        for message in self.messages:
            for block in self._blocks(message):
                inner = block.get("content") if block["type"] == "tool_result" else [block]
                for item in inner if isinstance(inner, list) else []:
                    if item.get("type") == "search_result":
                        found.append({**item, "index": len(found), "id": item["source"].removeprefix("evidence://")})
        return found

    def result(self, evidence_id: str) -> dict[str, Any]:
        return next(r for r in reversed(self.search_results()) if r["id"] == evidence_id)

    def cite(self, evidence_id: str) -> list[dict[str, Any]]:
        found = self.result(evidence_id)
        return [{"type": "search_result_location", "source": found["source"], "title": found["title"],
                 "cited_text": "".join(c["text"] for c in found["content"]), "search_result_index": found["index"],
                 "start_block_index": 0, "end_block_index": len(found["content"])}]


def _unquoted(text: str) -> str:
    """A name the orchestrator wrote JSON-encoded into a search result's title ("Acme" -> Acme)."""
    return (json.loads(text) or "") if text.startswith('"') or text == "null" else text


def json_text(call: dict[str, Any]) -> dict[str, Any]:
    """The JSON text block of a tool result (the part that is not search results), unwrapped from the
    orchestrator's marked <tool-data ...> block when it has one."""
    text = next(b["text"] for b in call["content"] if b["type"] == "text")
    if text.startswith("<tool-data") and text.endswith("</tool-data>"):
        text = text[text.index(">") + 1:-len("</tool-data>")]
    return json.loads(text)


# --- the server ------------------------------------------------------------------------------------------------


def _tokens(value: Any) -> int:
    return math.ceil(len(json.dumps(value, ensure_ascii=False, separators=(",", ":"))) / CHARS_PER_TOKEN)


def _without_cache_control(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_without_cache_control(v) for v in value]
    return value


class _Cache:
    """Prefixes up to a breakpoint, by hash, with their length in tokens."""

    def __init__(self) -> None:
        self.prefixes: dict[str, int] = {}
        self.lock = threading.Lock()

    def usage(self, body: dict[str, Any]) -> dict[str, int]:
        parts = [("tools", t) for t in body.get("tools", [])]
        system = body.get("system", [])
        parts += [("system", b) for b in ([{"type": "text", "text": system}] if isinstance(system, str) else system)]
        for message in body["messages"]:
            content = message["content"]
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            parts += [(message["role"], b) for b in blocks]
        digest, total, boundaries, breakpoints = hashlib.sha256(body["model"].encode()), 0, [], []
        for role, block in parts:
            digest.update(json.dumps([role, _without_cache_control(block)], sort_keys=True).encode())
            total += _tokens(_without_cache_control(block))
            boundaries.append((digest.hexdigest(), total))
            if isinstance(block, dict) and block.get("cache_control"):
                breakpoints.append(len(boundaries) - 1)
        with self.lock:
            # like the API, a breakpoint also finds a prefix cached at one of the 20 block boundaries before it
            read = max((boundaries[i][1] for b in breakpoints for i in range(max(0, b - 19), b + 1)
                        if boundaries[i][0] in self.prefixes), default=0)
            breakpoints = [boundaries[b] for b in breakpoints]
            cacheable = [(h, n) for h, n in breakpoints if n >= MIN_CACHEABLE_TOKENS]
            created = max((n for _, n in cacheable), default=0) - read if cacheable else 0
            for h, n in cacheable:
                self.prefixes[h] = n
        created = max(created, 0)
        return {"input_tokens": total - read - created, "cache_read_input_tokens": read,
                "cache_creation_input_tokens": created}


class StandIn:
    """The stand-in server, as a context manager: `with StandIn(model) as api: ... api.url ...`."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.cache = _Cache()
        self.requests: list[dict[str, Any]] = []
        self.ids = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        self.requests.append(body)
        reply = self.model(Conversation(body))
        if isinstance(reply, ApiError):
            return reply.status, reply.headers, {"type": "error", "error": {"type": reply.type,
                                                                            "message": reply.message}}
        number = next(self.ids)
        content = [{**b, "id": f"toolu_standin_{number:03d}_{i}"} if b["type"] == "tool_use" else b
                   for i, b in enumerate(reply.content)]
        written = [b["text"] if b["type"] == "text" else b["input"] for b in content]  # citations are not output
        usage = {**self.cache.usage(body), "output_tokens": max(1, _tokens(written))}
        return 200, {}, {"id": f"msg_standin_{number:03d}", "type": "message", "role": "assistant",
                         "model": body["model"], "content": content, "stop_reason": reply.stop_reason,
                         "stop_sequence": None, "usage": usage}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if self.path.split("?")[0] != "/v1/messages":
                    return self._send(404, {}, {"type": "error", "error": {"type": "not_found_error",
                                                                           "message": self.path}})
                try:
                    status, headers, payload = standin.answer(body)
                except Exception as exc:  # a broken script: say so instead of dropping the connection
                    status, headers, payload = 500, {"x-should-retry": "false"}, {
                        "type": "error", "error": {"type": "api_error", "message": f"stand-in script: {exc!r}"}}
                if status == 200 and body.get("stream"):
                    return self._stream(payload)
                self._send(status, headers, payload)

            def _send(self, status: int, headers: dict[str, str], payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, message: dict[str, Any]) -> None:
                events = []
                start = {**message, "content": [], "stop_reason": None,
                         "usage": {**message["usage"], "output_tokens": 1}}
                events.append(("message_start", {"type": "message_start", "message": start}))
                for index, block in enumerate(message["content"]):
                    events += _block_events(index, block)
                delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
                events.append(("message_delta", {"type": "message_delta", "delta": delta,
                                                 "usage": {"output_tokens": message["usage"]["output_tokens"]}}))
                events.append(("message_stop", {"type": "message_stop"}))
                data = "".join(f"event: {name}\ndata: {json.dumps(event)}\n\n" for name, event in events).encode()
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _block_events(index: int, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A content block as stream events: text in word-sized deltas, then its citations; tool input as JSON."""
    events: list[tuple[str, dict[str, Any]]] = []
    if block["type"] == "text":
        events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": {"type": "text", "text": ""}}))
        for piece in re.findall(r"\S+\s*|\s+", block["text"]):
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "text_delta", "text": piece}}))
        for citation in block.get("citations") or []:
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "citations_delta", "citation": citation}}))
    else:
        events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": {**block, "input": {}}}))
        events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                               "delta": {"type": "input_json_delta",
                                                         "partial_json": json.dumps(block["input"])}}))
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


# --- cassettes ------------------------------------------------------------------------------------------------

KEY = "sk-ant-standin-0000-not-a-real-key"
REPLAY_URL = "http://127.0.0.1:9"  # never contacted: the cassette answers
VOLATILE = ((re.compile(r"icp-\d{20}-[0-9a-f]{6}"), "icp-VERSION"),
            (re.compile(r"icp_\d{20}_[0-9a-f]{6}"), "icp_VERSION"))


def skeleton(body: dict[str, Any]) -> dict[str, Any]:
    """What a cassette matches on: the conversation's shape (prompts, tool names, the model's calls, which evidence
    each tool result carried, refusals), not the wording of tool outputs that other modules own."""
    def block(b: dict[str, Any]) -> dict[str, Any]:
        if b["type"] == "tool_result":
            return {"type": "tool_result", "tool_use_id": b["tool_use_id"], "is_error": b.get("is_error", False),
                    "content": [c["source"] if c["type"] == "search_result" else c["text"] if b.get("is_error")
                                else "json" for c in b["content"]]}
        if b["type"] == "tool_use":
            return {k: b[k] for k in ("type", "id", "name", "input")}
        return {"type": b["type"], "text": b.get("text")}
    system = body.get("system") or []
    return {"model": body["model"], "max_tokens": body["max_tokens"], "stream": body.get("stream", False),
            "system": [system] if isinstance(system, str) else [s["text"] for s in system],
            "tools": [t["name"] for t in body.get("tools", [])],
            "messages": [{"role": m["role"], "content": [block(b) for b in m["content"]]} for m in body["messages"]]}


def match_on_skeleton(request: Any) -> Any:
    """vcrpy's before_record_request: applied when recording and again to each request when replaying (and it may
    see a request it has already turned into a skeleton). Only the Messages API is recorded: any other request (an
    MCP server over HTTP) is ignored, so it always reaches the real server."""
    if not request.path.endswith("/v1/messages"):
        return None
    body = json.loads(request.body) if request.path.endswith("/v1/messages") and request.body else None
    if body is not None and "skeleton" not in body:
        data = json.dumps({"skeleton": 1, **skeleton(body)}, ensure_ascii=False)
        for pattern, replacement in VOLATILE:
            data = pattern.sub(replacement, data)
        request.body = data.encode()
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    for name in ("set-cookie", "request-id", "anthropic-organization-id", "date", "server", "cf-ray"):
        response["headers"].pop(name, None)
        response["headers"].pop(name.title(), None)
    return response


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {"filter_headers": ["authorization", "x-api-key", "anthropic-organization-id"],
            "match_on": ["method", "path", "body"], "decode_compressed_response": True,
            "before_record_request": match_on_skeleton, "before_record_response": scrub_response}


@pytest.fixture
def api(record_mode: str) -> Callable[[Model], Any]:
    """api(model) -> the base URL: the stand-in driven by `model` when recording, else a URL never contacted."""
    @contextmanager
    def serve(model: Model) -> Iterator[str]:
        if record_mode == "none":
            yield REPLAY_URL
        else:
            with StandIn(model) as standin:
                yield standin.url
    return serve


# --- scripted models ---------------------------------------------------------------------------------------------

PHASE = re.compile(r"Phase (\d) of 5")
THEMES = {"Forecast accuracy and pipeline visibility": r"forecast|pipeline|visibility|quarter",
          "Salesforce at the centre": r"salesforce|crm|integrat|export",
          "Compliance and audit": r"complian|audit|regulat|examiner",
          "Price and value": r"price|cost|expensive|budget|value|contract"}
SECTION_WORDS = (("objections", r"price|expensive|cost|worried|concern|risk|hesitat"),
                 ("pains", r"missed|manual|spreadsheet|late|found out|blind|hard|chas"),
                 ("how_they_buy", r"trial|pilot|procurement|contract|approv|budget|sign|legal|renewal"),
                 ("where_they_research", r"peer|tell every|referr|community|linkedin|g2|conference"),
                 ("goals", r"."))
SECTION_TITLES = {"who": "Who", "goals": "Goals", "pains": "Pains", "objections": "Objections",
                  "how_they_buy": "How they buy", "where_they_research": "Where they research"}


def _tier_short(name: str) -> str:
    return name.split(":")[0]


def _label(disqualifier: dict[str, Any]) -> str:
    return " AND ".join(c["label"] for c in disqualifier["criteria"])


def _pct(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%"


class DemoModel:
    """A model that works through the five phases on the demo data the way the prompts ask."""

    def __call__(self, convo: Conversation) -> Reply:
        phase = int(PHASE.search(convo.first_user_text).group(1))
        return getattr(self, f"phase_{phase}")(convo)

    # phase 1: import, check, score
    def phase_1(self, convo: Conversation) -> Reply:
        last = convo.last_call()
        if last is None:
            return Reply([text("I will import the exports first."), tool_use("import_data", {"data_dir": "."})],
                         "tool_use")
        if last["name"] == "import_data":
            return Reply([tool_use("inspect_workspace", {"kind": "customers", "limit": 25})], "tool_use")
        if last["name"] == "inspect_workspace":
            return Reply([text("The fit fields are firmographic and technographic; no role needs changing."),
                          tool_use("score_health", {})], "tool_use")
        imported = json_text(convo.tool_calls()[0])
        lines = [f"- {f['file_name']}: {f['rows_kept']} rows kept, {f['rows_rejected']} rejected, "
                 f"{f['duplicates_dropped']} duplicates dropped." for f in imported["imported"]]
        flagged = (imported.get("interviews") or {}).get("contains_instructions") or []
        if flagged:
            lines.append(f"- {', '.join(flagged)} contains text addressed to an AI; it stays data.")
        return Reply([text("\n".join(lines))])

    # phase 2: patterns (remarks only: nothing is saved yet, so nothing can be cited)
    def phase_2(self, convo: Conversation) -> Reply:
        last = convo.last_call()
        if last is None:
            return Reply([tool_use("find_patterns", {"limit": 10})], "tool_use")
        patterns = json_text(last)["patterns"]
        lines = [f"- Strongest among the {group}: {found['label']}." for group, direction in (("best", "good"),
                                                                                            ("worst", "bad"))
                 for found in [p for p in patterns if p["direction"] == direction][:1]]
        return Reply([text("\n".join(lines + ["- No pattern rests on a post-sale field."]))])

    # phase 3: build, the patterns summary, tier narratives, the negative ICP's rationale
    def phase_3(self, convo: Conversation) -> Reply:
        prompt = convo.last_prompt
        calls = convo.calls_since_prompt()
        if prompt.startswith("Phase 3 of 5"):
            if not calls:
                return Reply([tool_use("build_icp", {})], "tool_use")
            if calls[-1]["name"] == "build_icp":
                built = json_text(calls[-1])
                ids = [p["evidence"] for p in built["top_patterns"]]
                ids += [e for t in built["tiers"] for e in t["evidence"]]
                ids += [e for d in built["negative_icp"] for e in d["evidence"]]
                return Reply([tool_use("get_evidence", {"ids": list(dict.fromkeys(ids))[:20]})], "tool_use")
            return self.summary(convo, json_text(convo.tool_calls()[0]))
        built = json_text(next(c for c in convo.tool_calls() if c["name"] == "build_icp"))
        if prompt.startswith("The grounding check refused"):
            return self.repair_3(convo, built, prompt)
        if prompt.startswith("Now the negative ICP"):
            return self.rationale(convo, built, stubborn=True)
        return self.narratives(convo, built, wrong_churn=True)

    def summary(self, convo: Conversation, built: dict[str, Any]) -> Reply:
        blocks = [text("## Summary: patterns\n")]
        for pattern in built["top_patterns"]:
            m = self.figures(convo, pattern["evidence"])
            group = "best" if m["direction"] == "good" else "worst"
            blocks += [text("- "), text(f"{pattern['label']}: {_pct(m['rate'])} of these {m['n']:,} customers are "
                                        f"among the {group}, against {_pct(m['base_rate'])} overall (lift "
                                        f"{m['lift']:.2f}).", convo.cite(pattern["evidence"])), text("\n")]
        return Reply(blocks)

    @staticmethod
    def figures(convo: Conversation, evidence_id: str) -> dict[str, Any]:
        return json.loads(convo.result(evidence_id)["content"][1]["text"].removeprefix("figures: "))

    def narratives(self, convo: Conversation, built: dict[str, Any], wrong_churn: bool = False,
                   only: str | None = None) -> Reply:
        blocks: list[dict[str, Any]] = []
        for i, tier in enumerate(built["tiers"]):
            short = _tier_short(tier["name"])
            if only and short != only:
                continue
            m, cite = tier["metrics"], convo.cite(tier["evidence"][0])
            churn = m["churn_rate"] + (0.01 if wrong_churn and i == 0 else 0)
            blocks += [text(f"## Narrative: {short}\n- "),
                       text(f"{short} covers {m['n']:,} customers ({_pct(m['share'])} of all): "
                            f"{' and '.join(tier['criteria'])}.", cite), text("\n- "),
                       text(f"They churn at {_pct(churn)}, with a median NRR of {_pct(m['nrr_median'])} and an "
                            f"LTV:CAC of {m['ltv_cac']:.1f}.", cite), text("\n")]
            if m.get("win_rate") is not None:
                blocks += [text("- "), text(f"They win {_pct(m['win_rate'])} of {m['win_rate_n']:,} closed deals.",
                                            cite), text("\n")]
        return Reply(blocks)

    def rationale(self, convo: Conversation, built: dict[str, Any], stubborn: bool = False) -> Reply:
        blocks: list[dict[str, Any]] = []
        for i, d in enumerate(built["negative_icp"]):
            label = " AND ".join(d["criteria"])
            m, cite = self.figures(convo, d["evidence"][0]), convo.cite(d["evidence"][0])
            blocks += [text(f"## Rationale: {label}\n- "),
                       text(f"{_pct(m['rate'])} of the {m['n']:,} customers with {label} are among the worst, "
                            f"against {_pct(m['base_rate'])} overall: {m['lift']:.2f} times the base rate.", cite),
                       text("\n- "),
                       text("When a prospect matches, qualify it out or route it to a low-touch motion.", cite),
                       text("\n")]
            if stubborn and i == 0:
                blocks += [text("- Agencies rarely have the budget for an annual contract.\n")]
        return Reply(blocks)

    def repair_3(self, convo: Conversation, built: dict[str, Any], prompt: str) -> Reply:
        if "Narrative:" in prompt:
            reply = self.narratives(convo, built, only=_tier_short(built["tiers"][0]["name"]))
            return Reply([b for b in reply.content if "churn" in b["text"] or b["text"].startswith("## ")
                          or b["text"] in ("\n", "\n- ")])
        label = " AND ".join(built["negative_icp"][0]["criteria"])
        return Reply([text(f"## Rationale: {label}\n- Agencies rarely have the budget for an annual contract.\n")])

    # phase 4: personas and themes, one tier per conversation
    def phase_4(self, convo: Conversation) -> Reply:
        match = re.search(r'segment "([^"]+)" and tier (\d)', convo.first_user_text)
        if convo.last_call() is None and not convo.tool_calls():
            return Reply([tool_use("get_persona_evidence", {"segment": match.group(1), "tier": int(match.group(2))})],
                         "tool_use")
        return self.personas(convo)

    def personas(self, convo: Conversation) -> Reply:
        call = next(c for c in convo.tool_calls() if c["name"] == "get_persona_evidence")
        rest = json_text(call)
        tier = rest["tier"]
        roles, quotes = {}, []
        for found in convo.search_results():
            if found["title"].startswith("Buying role "):
                summary = json.loads(found["content"][0]["text"])
                roles[summary["role"]] = (summary, found["id"])
            elif found["title"].startswith("Interview note "):
                quotes.append(found)
        blocks: list[dict[str, Any]] = []
        for role in ("champion", "economic buyer", "technical buyer", "end user", "blocker"):
            if role not in roles:
                blocks.append(text(f"## Persona: {role}\nGap: no contacts with this buying role on the won deals of "
                                   f"{tier}.\n"))
                continue
            summary, evidence_id = roles[role]
            top, level, dept = summary["titles"][0], summary["seniority"][0], summary["departments"][0]
            blocks += [text(f"## Persona: {role}\nTitles: {'; '.join(t['value'] for t in summary['titles'][:3])}\n"
                            f"### Who\n- "),
                       text(f"{role.capitalize()}s in {tier}: {summary['n']:,} contacts on won deals, most often "
                            f"{top['value']} ({_pct(top['share'], 0)}).", convo.cite(evidence_id)), text("\n- "),
                       text(f"Mostly {level['value']} ({_pct(level['share'], 0)}) in {dept['value']}.",
                            convo.cite(evidence_id)), text("\n")]
            said = [q for q in quotes if f"({role})" in q["title"].lower()]
            by_section: dict[str, list[dict[str, Any]]] = {}
            for q in said:
                words = json.loads(q["content"][0]["text"]).lower()
                section = next(s for s, pattern in SECTION_WORDS if re.search(pattern, words))
                by_section.setdefault(section, []).append(q)
            for section in ("goals", "pains", "objections", "how_they_buy", "where_they_research"):
                blocks.append(text(f"### {SECTION_TITLES[section]}\n"))
                if not by_section.get(section):
                    blocks.append(text("Gap: the interviews say nothing on this yet.\n"))
                for q in by_section.get(section, []):
                    speaker = _unquoted(re.search(r"Interview note \S+: (.+?) at ", q["title"]).group(1))
                    blocks += [text("- "), text(f"{speaker.split(',')[0]} said: "
                                                f"\"{json.loads(q['content'][0]['text'])}\"", convo.cite(q["id"])),
                               text("\n")]
        themed: dict[str, list[dict[str, Any]]] = {}
        for q in quotes:
            words = json.loads(q["content"][0]["text"]).lower()
            name = next((n for n, pattern in THEMES.items() if re.search(pattern, words)), None)
            if name:
                themed.setdefault(name, []).append(q)
        for name, found in themed.items():
            blocks.append(text(f"## Theme: {name}\n"))
            for q in found:
                company = _unquoted(re.search(r" at (.+?) \(the customer's words", q["title"]).group(1))
                blocks += [text("- "), text(f"At {company}: \"{json.loads(q['content'][0]['text'])}\"",
                                            convo.cite(q["id"])), text("\n")]
        return Reply(blocks)

    # phase 5: validation
    def phase_5(self, convo: Conversation) -> Reply:
        last = convo.last_call()
        if last is None:
            return Reply([tool_use("get_icp", {"sections": ["validation"]})], "tool_use")
        if last["name"] == "get_icp":
            ids = list(dict.fromkeys(re.findall(r"\bE[0-9a-f]{8}\b", json.dumps(json_text(last)["validation"]))))
            return Reply([tool_use("get_evidence", {"ids": ids[:20]})], "tool_use")
        blocks = [text("## Summary: validation\n")]
        for found in convo.search_results():
            statement = found["content"][0]["text"]
            blocks += [text("- "), text(statement.split("; ")[0].rstrip(".") + ".", convo.cite(found["id"])),
                       text("\n")]
        return Reply(blocks)


class ChatModel:
    """Answers the chat's main questions: who to stop selling to, and a Tier 1 champion persona."""

    def __call__(self, convo: Conversation) -> Reply:
        question = convo.last_prompt
        if "stop selling" in question:
            return self.stop_selling(convo)
        if "champion" in question:
            return self.champion(convo)
        return Reply([text("I can answer questions about the ICP in this workspace.")])

    def stop_selling(self, convo: Conversation) -> Reply:
        calls = convo.calls_since_prompt()
        if not calls:
            return Reply([tool_use("get_icp", {"sections": ["negative_icp"]})], "tool_use")
        if len(calls) == 1:
            ids = [e for d in json_text(calls[0])["negative_icp"] for e in d["evidence"]]
            return Reply([tool_use("get_evidence", {"ids": ids})], "tool_use")
        blocks = [text("Three groups end up among your worst customers far more often than average:\n")]
        for d in json_text(calls[0])["negative_icp"]:
            found = convo.result(d["evidence"][0])
            m = json.loads(found["content"][1]["text"].removeprefix("figures: "))
            blocks += [text("- "), text(f"{_label(d)}: {_pct(m['rate'])} of {m['n']:,} are among "
                                        f"the worst (lift {m['lift']:.2f}).", convo.cite(found["id"])), text("\n")]
        blocks.append(text("Treat them as disqualifiers in qualification."))
        return Reply(blocks)

    def champion(self, convo: Conversation) -> Reply:
        calls = convo.calls_since_prompt()
        if not calls:
            return Reply([tool_use("get_persona_evidence", {"segment": "ICP 1", "tier": 1})], "tool_use")
        found = next(r for r in convo.search_results() if r["title"].startswith("Buying role champion"))
        summary = json.loads(found["content"][0]["text"])
        top = summary["titles"][0]
        return Reply([text("Champion, ICP 1 Tier 1: "),
                      text(f"{summary['n']:,} champions on won deals, most often {top['value']} "
                           f"({_pct(top['share'], 0)}).", convo.cite(found["id"])),
                      text(" They run revenue operations and own the CRM data.")])


# --- an MCP server over HTTP, for the remote runs -----------------------------------------------------------------

SERVER = Path(sys.executable).parent / "icp-agent-mcp"
SERVER_COMMAND = [str(SERVER)] if SERVER.exists() else [sys.executable, "-m", "icp_agent.faces.server"]
TOKEN = "a-test-token-for-the-server"


@contextmanager
def http_server(ws: Any, folder: Path) -> Iterator[str]:
    """`icp-agent-mcp --http` on ws in a subprocess (its data root and output folder under `folder`), with a bearer
    token; yields its URL and stops it (so the test may open the workspace afterwards)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "ICP_AGENT_TOKEN"} | {"ICP_AGENT_TOKEN": TOKEN}
    with log.open("w") as out:
        process = subprocess.Popen([*SERVER_COMMAND, "--http", "--port", str(port), "--workspace", str(ws.path),
                                    "--out", str(folder / "server-out")], cwd=folder, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
