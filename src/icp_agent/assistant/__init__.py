"""The assistant: drafters (offline templates, Claude), the grounding checker, the orchestrator and the chat."""
