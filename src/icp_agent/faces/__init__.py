"""The faces over the toolkit: the CLI, the MCP server and the assistant (an MCP client)."""
