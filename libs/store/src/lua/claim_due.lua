-- Claims due deadline entries for one watcher, atomically, so each fires on exactly one replica.
-- A claimed entry moves to the claimed set with a lease; the commit that applies it removes it
-- there. An entry whose lease ran out (its watcher died) goes back to the due set first.
--
-- KEYS[1] due set (score: fire time ms)   KEYS[2] claimed set (score: lease end ms)
-- ARGV[1] now ms   ARGV[2] lease ms   ARGV[3] limit
-- Reply: flat list member, fire time, member, fire time...

local now = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('ZADD', KEYS[1], now, m)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i = 1, #due, 2 do
  redis.call('ZREM', KEYS[1], due[i])
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), due[i])
  out[#out + 1] = due[i]
  out[#out + 1] = due[i + 1]
end
return out
