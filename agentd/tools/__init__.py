"""Tools the model can call: the interface, the registry and the built-ins."""

#: Names of the built-in tools (kept here, import-free, for the handshake's capabilities).
BUILTIN_TOOL_NAMES = ("apply_patch", "bash", "grep_files", "list_dir", "read_file")
