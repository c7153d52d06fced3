"""The Lua scripts of the page store (store.py): each touches one family, atomically.

The family's fields are described in store.py. Times are Redis's own clock (`TIME`).
"""

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# A family remembers the run of the server that filled it (`r`); a server restarted
# from an RDB/AOF snapshot has a new run id, and drops what the old run stored:
# pages invalidated after the snapshot must not come back.
_SAME_RUN = """
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local stored_run = redis.call('HGET', KEYS[1], 'r')
if stored_run and stored_run ~= run then redis.call('DEL', KEYS[1]) end
"""

# KEYS[1] family; ARGV: variant, token, lease_ms, guarded ("1"/"0")
READ_SCRIPT = (
    _NOW_MS
    + _SAME_RUN
    + """
local v = ARGV[1]
local got = redis.call('HMGET', KEYS[1], 'b:' .. v, 'x:' .. v, 'l:' .. v)
local expires = tonumber(got[2])
if got[1] and expires and expires > now then return {'hit', got[1]} end
if ARGV[4] ~= '1' then return {'build', ''} end
if got[3] then
  local deadline = tonumber(string.match(got[3], ':(%d+)$'))
  if deadline and deadline > now then return {'wait', ''} end
end
local lease_ms = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'l:' .. v, ARGV[2] .. ':' .. (now + lease_ms), 'r', run)
if redis.call('PTTL', KEYS[1]) < lease_ms then redis.call('PEXPIRE', KEYS[1], lease_ms) end
return {'build', ARGV[2], redis.call('HGET', KEYS[1], 'w') or ''}
"""
)

# KEYS[1] family; ARGV: variant, token, page, ttl_ms, guarded ("1"/"0"), max_fields,
# replay position of the replicas the page was read from ("" for none; see replicas.py)
STORE_SCRIPT = (
    _NOW_MS
    + _SAME_RUN
    + """
local v = ARGV[1]
if ARGV[5] == '1' then
  local lease = redis.call('HGET', KEYS[1], 'l:' .. v)
  local mine = ARGV[2] .. ':'
  if not lease or string.sub(lease, 1, #mine) ~= mine then return 0 end
  redis.call('HDEL', KEYS[1], 'l:' .. v)
  -- A lease past its deadline may have been taken over; and a bound on how long after
  -- its database read a page can be stored bounds how long an outbox entry matters.
  if tonumber(string.sub(lease, #mine + 1)) <= now then return 0 end
  -- Read from a replica that had not replayed the family's last invalidation: it may miss that write.
  local w = redis.call('HGET', KEYS[1], 'w')
  if ARGV[7] ~= '' and w and ARGV[7] < w then return 0 end
end
local max_fields = tonumber(ARGV[6])
if redis.call('HEXISTS', KEYS[1], 'b:' .. v) == 0 and redis.call('HLEN', KEYS[1]) >= 16 then
  -- A new variant in a family of several: first drop the expired variants and dead leases,
  -- so a family that gets new variants forever keeps only the live ones.
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    local name, value = fields[i], fields[i + 1]
    local kind = string.sub(name, 1, 2)
    if kind == 'x:' and tonumber(value) <= now then
      redis.call('HDEL', KEYS[1], name, 'b:' .. string.sub(name, 3))
    elseif kind == 'l:' then
      local deadline = tonumber(string.match(value, ':(%d+)$'))
      if deadline and deadline <= now then redis.call('HDEL', KEYS[1], name) end
    end
  end
  if redis.call('HLEN', KEYS[1]) >= max_fields then return 0 end
end
local ttl_ms = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'b:' .. v, ARGV[3], 'x:' .. v, now + ttl_ms, 'r', run)
if redis.call('PTTL', KEYS[1]) < ttl_ms then redis.call('PEXPIRE', KEYS[1], ttl_ms) end
return 1
"""
)

# KEYS[1] family; ARGV: variant, token
RELEASE_SCRIPT = """
local lease = redis.call('HGET', KEYS[1], 'l:' .. ARGV[1])
local mine = ARGV[2] .. ':'
if lease and string.sub(lease, 1, #mine) == mine then redis.call('HDEL', KEYS[1], 'l:' .. ARGV[1]) end
return 0
"""

# KEYS: families; ARGV: position (16 hex digits), ttl_ms. An invalidation that leaves the WAL position
# of the write behind (`w`, the highest one seen): a fill from a replica that had not replayed it is
# not stored (replicas.py). One script, so no lease can be taken between the delete and the position.
# (On a cluster, one family per call: a script's keys must share a slot.)
INVALIDATE_AT_SCRIPT = """
for _, family in ipairs(KEYS) do
  local w = redis.call('HGET', family, 'w')
  if not w or w < ARGV[1] then w = ARGV[1] end
  redis.call('UNLINK', family)
  redis.call('HSET', family, 'w', w)
  redis.call('PEXPIRE', family, ARGV[2])
end
return #KEYS
"""
