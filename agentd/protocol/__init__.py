"""agentd."""
