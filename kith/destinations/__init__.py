"""Destinations: durable, retried, isolated delivery to other systems (API.md section 7).

`queueing` puts deliveries in the request's unit of work (or queues them for a
flow), `sender` and `lane` send them (one lane per destination: its own claims,
slots and connections), `retry` says when to try again, `kinds/` are the
plugins that know each remote system (entry-point group `kith.destinations`)."""
