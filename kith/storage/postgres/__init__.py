"""The scale-out engine: PostgreSQL through asyncpg, shared by many Kith processes."""
