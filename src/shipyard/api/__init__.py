"""Wire schemas and route constants shared by the server and the SDK's HTTP transport.

Rule: pydantic models only, converted to/from domain entities here; no I/O.
"""
