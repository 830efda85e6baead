"""The OpenAI provider: the Responses API and Chat Completions wires, over one HTTP client.

The submodules are imported on demand (``agentd.providers.openai.provider`` for the provider);
this package imports nothing, so naming it costs no start-up time.
"""
