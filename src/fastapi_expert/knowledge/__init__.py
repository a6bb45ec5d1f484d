"""The expert's knowledge: task guides (markdown) and their search.

`guides` loads and parses the markdown guides (standard library only);
`search` ranks guide sections and rule docs for a free-text question (bm25s,
the `[knowledge]` extra), imported only by `ask` and the MCP server.
"""
