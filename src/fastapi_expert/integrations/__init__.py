"""The expert inside other tools: the MCP server for AI assistants (`mcp_server`).

Each integration imports its SDK itself and ships as an extra (`[mcp]`), so
that `review` never pays for it.
"""
