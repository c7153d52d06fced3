"""The store: Redis, its Lua scripts, the breaker that follows a Redis error, the counters."""
