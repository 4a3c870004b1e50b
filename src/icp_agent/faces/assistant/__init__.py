"""The assistant: Claude as an MCP client of the icp-agent server (the assisted run, the chat, the Claude drafter).

Modules: claude (the API client and its errors), connection (the MCP session: in process or remote), bridge
(tools and results between MCP and Claude), prompts (the templates), phases (the method's phases and their
tools), drafts (cited prose parsed into claims and checked), runlog (run_log.json), orchestrator (the assisted
run), chat (`icp-agent chat`). Nothing here calls the toolkit or opens the workspace.
"""
