"""The frontier's Redis scripts: each step that must not be split between workers is
one script (Redis runs a script atomically)."""

# queue a request unless its round has seen it (ARGV[3] '' = dont_filter): one step, so a
# worker dying between marking a page seen and queueing it cannot lose the page
PUSH = """
if ARGV[3] ~= '' then
  if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return 0 end
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'pending', 1)
  return 1
end
return 0
"""
# take the first request of a queue into this worker's leases; with the round it is in
LEASE_Z = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({q=KEYS[1], s=r[2], d=r[1]}))
return {r[1], redis.call('GET', KEYS[3]) or ''}
"""
LEASE_SEED = """
local d = redis.call('LPOP', KEYS[1])
if not d then return false end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({q=KEYS[1], d=d}))
return d
"""
ACK = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
return redis.call('HINCRBY', KEYS[2], 'pending', -1)
"""
# put leases back where they came from: the queue (scored) or the seed list
RELEASE = """
local n = 0
local fields = ARGV
if #ARGV == 0 then
  fields = {}
  local all = redis.call('HKEYS', KEYS[1])
  for i = 1, #all do fields[i] = all[i] end
end
for i = 1, #fields do
  local v = redis.call('HGET', KEYS[1], fields[i])
  if v then
    local l = cjson.decode(v)
    if l.s then redis.call('ZADD', l.q, 'NX', l.s, l.d) else redis.call('LPUSH', l.q, l.d) end
    redis.call('HDEL', KEYS[1], fields[i])
    n = n + 1
  end
end
return n
"""
SEED = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local p = tonumber(redis.call('HGET', ARGV[1] .. cur, 'pending') or '0')
  if p > 0 then return {0, tonumber(cur)} end
end
local n = redis.call('INCR', KEYS[2])
redis.call('HSET', ARGV[1] .. n, 'pending', 1, 'started_at', ARGV[2], 'started_unix', ARGV[3])
redis.call('SET', KEYS[1], n)
redis.call('RPUSH', KEYS[3], tostring(n))
return {1, n}
"""
# next time a request may go to a domain: one per `delay` over all workers
RESERVE = """
local now = tonumber(ARGV[1])
local at = tonumber(redis.call('GET', KEYS[1]) or '0')
if at < now then at = now end
redis.call('SET', KEYS[1], at + tonumber(ARGV[2]), 'PX', math.ceil((at - now + tonumber(ARGV[2])) * 1000) + 1000)
return tostring(at - now)
"""
