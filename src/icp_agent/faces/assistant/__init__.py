"""The assistant: Claude over the MCP server (the assisted run, the chat, the Claude drafter)."""
