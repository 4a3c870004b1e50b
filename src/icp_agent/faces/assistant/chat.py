"""`icp-agent chat`: a terminal conversation with Claude about the ICP in a workspace.

Like the assisted run, the chat is only an MCP client, of the server in process (the default) or of a remote one
(`--server URL`): Claude sees the same tools and gets evidence as citable search results. Answers stream as they are written; each cited sentence gets a numbered
marker and the answer ends with footnotes naming the evidence; every tool call shows as one line (name,
arguments, size, time). `/save` writes the current ICP document. Without an API key the chat says so and points
to the offline run and to Claude Desktop with the MCP server. Input and output are plain text streams, so a test
can drive it with StringIO.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import anthropic
import anyio
from mcp import Client

from icp_agent.faces.assistant.bridge import (
    SOURCE,
    ToolCaller,
    claude_tools,
    plain,
    tool_result_content,
    user_message,
    with_cache_breakpoints,
)
from icp_agent.faces.assistant.claude import (
    AssistantError,
    api_key_from_env,
    explain,
    make_client,
    resolve_model,
)
from icp_agent.faces.assistant.connection import RemoteServer, connect, in_process
from icp_agent.faces.assistant.prompts import Prompts

if TYPE_CHECKING:
    from icp_agent.workspace import Workspace

CHAT_TOOLS = frozenset(
    {
        "get_icp",
        "list_icp_versions",
        "get_evidence",
        "list_evidence",
        "get_persona_evidence",
        "query_workspace",
        "inspect_workspace",
        "build_icp",
    }
)
MAX_TOKENS = 4096
MAX_TURNS = 12
PROMPT = "you> "
HELP = (
    "Ask about your ICP in plain words. Commands: /save [folder] writes the ICP document (icp.md, icp.html, "
    "icp.json); /help; /quit (or Ctrl-D)."
)
NO_KEY = """\
icp-agent chat talks to Claude, and needs an Anthropic API key: set ANTHROPIC_API_KEY.
Without a key you can still:
  - run the whole analysis offline: icp-agent run DATA_DIR  (the prose is drafted from templates, every claim cited)
  - chat in Claude Desktop or Claude Code with the icp-agent MCP server: add `icp-agent-mcp` (with --workspace)
    to your MCP servers, and ask the same questions there."""


class Chat:
    """One terminal session: read a line, answer it with the tools, print footnotes; /save and /quit."""

    def __init__(
        self,
        mcp: Client,
        claude: anthropic.AsyncAnthropic,
        *,
        model: str,
        out_dir: Path,
        stdin: TextIO,
        stdout: TextIO,
        remote: bool = False,
    ) -> None:
        self.mcp, self.claude, self.model, self.out_dir, self.remote = mcp, claude, model, out_dir, remote
        self.stdin, self.stdout = stdin, stdout
        self.tool = ToolCaller(mcp)
        self.messages: list[dict[str, Any]] = []
        self.system: list[Any] = []  # Anthropic request params, built as plain dicts
        self.tools: list[Any] = []

    def say(self, text: str = "", end: str = "\n") -> None:
        """Write text to the chat's output and flush it."""
        self.stdout.write(text + end)
        self.stdout.flush()

    async def run(self) -> int:
        """The chat loop on the current ICP version; returns the exit code (2 when the workspace has no ICP yet)."""
        current = await self.tool("get_icp", {"sections": ["tiers"]}, by="chat", phase=None)
        if current.is_error:
            self.say(
                "There is no ICP in this workspace yet: build one with `icp-agent run DATA_DIR` (or pass the "
                "workspace that holds it with --workspace)."
            )
            return 2
        version = current.structured_content["id"]
        listed = (await self.mcp.list_tools()).tools
        self.tools = claude_tools(listed, CHAT_TOOLS)
        self.system = [
            {"type": "text", "text": Prompts().render("chat", version=version), "cache_control": {"type": "ephemeral"}}
        ]
        self.say(f"icp-agent chat · {self.model} · ICP {version}. {HELP}")
        while True:
            self.say(PROMPT, end="")
            line = await anyio.to_thread.run_sync(self.stdin.readline)
            if not line:
                self.say()
                return 0
            question = line.strip()
            if question in ("/quit", "/exit"):
                return 0
            if question == "/help":
                self.say(HELP)
            elif question.startswith("/save"):
                await self.save(question.removeprefix("/save").strip())
            elif question.startswith("/"):
                self.say(f"Unknown command {question.split()[0]}. {HELP}")
            elif question:
                await self.ask(question)

    async def ask(self, question: str) -> None:
        """Answer one question; on an API error say why and forget the question, so the next one starts clean."""
        start = len(self.messages)
        self.messages.append(user_message(question))
        try:
            await self._answer()
        except AssistantError as exc:
            del self.messages[start:]
            self.say(f"\n[error] {exc}")

    async def _answer(self) -> None:
        notes: dict[str, int] = {}
        footnotes: list[str] = []
        for _ in range(MAX_TURNS):
            wrote = False
            try:
                async with self.claude.messages.stream(
                    model=self.model,
                    max_tokens=MAX_TOKENS,
                    system=self.system,
                    tools=self.tools,
                    messages=with_cache_breakpoints(self.messages),
                ) as stream:
                    async for event in stream:
                        if event.type == "text":
                            self.say(event.text, end="")
                            wrote = True
                        elif event.type == "content_block_stop" and event.content_block.type == "text":
                            marks = self._marks(event.content_block.citations or [], notes, footnotes)
                            if marks:
                                self.say(marks, end="")
                    reply = await stream.get_final_message()
            except anthropic.AnthropicError as exc:
                raise explain(exc, self.model) from exc
            self.messages.append({"role": "assistant", "content": [b.to_dict() for b in reply.content]})
            uses = [b for b in reply.content if b.type == "tool_use"]
            if reply.stop_reason != "tool_use" or not uses:
                self.say()
                for footnote in footnotes:
                    self.say(footnote)
                return
            if wrote:
                self.say()
            self.messages.append({"role": "user", "content": [await self._call(use) for use in uses]})
        raise AssistantError(
            f"the model was still calling tools after {MAX_TURNS} turns", hint="ask a narrower question"
        )

    def _marks(self, citations: list[Any], notes: dict[str, int], footnotes: list[str]) -> str:
        """Numbered markers for a block's citations; each new source gets a footnote."""
        numbers = []
        for citation in citations:
            source = getattr(citation, "source", None)
            if not source:
                continue
            if source not in notes:
                notes[source] = len(notes) + 1
                cited = " ".join((citation.cited_text or "").split())
                cited = cited if len(cited) <= 110 else cited[:107] + "..."
                evidence_id = source.removeprefix(SOURCE)
                title = re.sub(r" \([^)]*\)$", "", (citation.title or "").removeprefix(f"Evidence {evidence_id}: "))
                footnotes.append(f"[{notes[source]}] {evidence_id} · {title}: {cited}")
            numbers.append(notes[source])
        return "".join(f"[{n}]" for n in dict.fromkeys(numbers))

    async def _call(self, use: Any) -> dict[str, Any]:
        arguments = dict(use.input or {})
        shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
        if use.name not in CHAT_TOOLS:
            self.say(f"  · {use.name}({shown}) refused: not available in the chat")
            return {
                "type": "tool_result",
                "tool_use_id": use.id,
                "is_error": True,
                "content": [{"type": "text", "text": f"{use.name} is not available in the chat"}],
            }
        result = await self.tool(use.name, arguments, by="model", phase=None)
        call = self.tool.calls[-1]
        status = "error" if result.is_error else f"{call['result_chars'] / 1000:.1f}k chars"
        self.say(f"  · {use.name}({shown}) → {status}, {call['duration_ms'] / 1000:.1f} s")
        content, is_error = tool_result_content(result)
        return {"type": "tool_result", "tool_use_id": use.id, "content": content, "is_error": is_error}

    async def save(self, folder: str) -> None:
        """/save [FOLDER]: render_document into FOLDER (a path on the server's machine when it is remote), or into
        the server's output folder (out_dir for the server in process)."""
        arguments = {"out_dir": folder if self.remote else str(Path(folder).expanduser().resolve())} if folder else {}
        result = await self.tool("render_document", arguments, by="chat", phase=None)
        if result.is_error:
            self.say(f"[error] {plain(result)}")
        else:
            saved = result.structured_content
            where = f"{saved['out_dir']} on the server" if self.remote else saved["out_dir"]
            self.say(f"Saved the ICP document to {where}: " + ", ".join(Path(f).name for f in saved["files"]))


async def chat_async(
    workspace: Workspace | None,
    *,
    out_dir: str | Path = "icp-out",
    data_roots: list[Path] | None = None,
    server: RemoteServer | None = None,
    model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    max_retries: int | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """The chat over MCP: the server in process on `workspace` (the default), or the remote `server`."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    if not (api_key or api_key_from_env()):
        stdout.write(NO_KEY + "\n")
        return 2
    out = Path(out_dir).expanduser().resolve()
    if server is None and workspace is None:
        raise AssistantError("no workspace and no server to chat with", hint="pass --workspace, or --server URL")
    target = server if server is not None else in_process(workspace, data_roots or [Path.cwd()], out)  # type: ignore[arg-type]
    retries = {"max_retries": max_retries} if max_retries is not None else {}
    async with make_client(api_key, base_url, **retries) as claude, connect(target) as mcp:
        return await Chat(
            mcp, claude, model=resolve_model(model), out_dir=out, stdin=stdin, stdout=stdout, remote=server is not None
        ).run()


def chat_main(
    workspace: Workspace | None,
    *,
    out_dir: str | Path = "icp-out",
    data_roots: list[Path] | None = None,
    server: RemoteServer | None = None,
    model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    max_retries: int | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """`icp-agent chat`: returns the exit code (0, or 2 when there is no API key or no ICP to talk about).

    Talks to the server in process on `workspace`, or to the remote `server` (`--server URL`). `/save` writes the
    document to the server's output folder (`out_dir` in process); `/save FOLDER` to a folder under it or under a
    data root (the working directory by default), the only places the server writes to.
    """
    return anyio.run(
        lambda: chat_async(
            workspace,
            out_dir=out_dir,
            data_roots=data_roots,
            server=server,
            model=model,
            api_key=api_key,
            base_url=base_url,
            max_retries=max_retries,
            stdin=stdin,
            stdout=stdout,
        )
    )
