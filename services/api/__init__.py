"""HTTP interface: health, metrics and (later) the /v1 API."""
