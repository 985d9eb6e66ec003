"""HTTP only: parse, call a service, serialise."""
