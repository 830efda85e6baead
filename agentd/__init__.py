"""agentd: a JSON-RPC daemon that gives any program an LLM agent as a child process."""

__version__ = "0.1.0"
