"""The Agent Client Protocol front door (``agentd acp``).

A second projection of the same core that ``agentd serve`` drives: editors that speak ACP v1
(Zed, JetBrains, Neovim and Emacs clients) get agentd's sessions, providers, tools, approvals
and history, without a second agent loop. ``shapes`` holds the wire types, ``content`` turns
prompt blocks into a turn's input, ``projection`` turns core events and saved records into
``session/update`` payloads, and ``agent`` answers the methods.
"""
