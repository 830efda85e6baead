"""``apply_patch``: the ``*** Begin Patch`` format and OpenAI's native patch operations."""
