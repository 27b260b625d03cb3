"""Pure renderers for the `local` target: a validated project + an environment -> one
`CamelProcess` object per integration (the runtime command, route files, merged properties, env,
ports) and the Secrets it reads, for the local driver to run as supervised processes."""

from renderers.local.process import (
    LOCAL_API_VERSION,
    PROCESS_KIND,
    LocalOptions,
    heap_mib,
    render_local,
)

__all__ = ["LOCAL_API_VERSION", "PROCESS_KIND", "LocalOptions", "heap_mib", "render_local"]
