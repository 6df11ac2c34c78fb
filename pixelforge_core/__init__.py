"""The pure core the procedures (snowpark_procs) and the renderer (ecs_render) share.

Formats, limits, integrity checks, EXIF, the SVG checker, reason codes, transient-error
classification and the render wire format (requests, results, thumbnail sizes and keys).
It imports no Snowflake, boto3/botocore, ecs_render, snowpark_procs or orchestration code:
pixelforge_core/ruff.toml bans them, so the dependency direction cannot come back.
"""
