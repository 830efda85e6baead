"""MCP servers as tools: configuration, names, the client connection and the tool adapter.

Nothing here imports the ``mcp`` SDK at module level except ``client``, which is imported only
when a session has a server to start; nothing here knows of sessions (``agentd.core.toolset``
does the per-session wiring).
"""
