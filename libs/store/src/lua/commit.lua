-- One atomic change of a versioned document: check the version the caller read, write the new
-- state, append the history line, append the outgoing event to the outbox, mark the consumed event
-- as handled, and apply the index operations. Either all of it happens or none of it.
--
-- KEYS[1] document hash (fields v, json)   KEYS[2] history list   KEYS[3] outbox stream
-- KEYS[4] handled-event marker             KEYS[5..] one key per index operation
-- ARGV[1] expected version (0: must not exist)   ARGV[2] new json ('' : check the version only,
-- write nothing to the document and keep its version)
-- ARGV[3] history line ('' for none)   ARGV[4] event json ('' for none)   ARGV[5] event type
-- ARGV[6] marker ttl in seconds ('0': no marker)   ARGV[7] number of index operations
-- then per operation three values: name, a, b. Operations: zadd, zadd xx (only a member that is
-- there), zrem, zrem! (must be there), sadd, srem, set, setnx! (must be absent), scard<! (set
-- smaller than a; writes nothing), is! (the string key holds a, or is absent when b is '1'; writes
-- nothing: a decision based on a key read before the change stands only if the key still says the
-- same), del, and xadd (one more outbox entry: a change that says two things, such as a reroute
-- that also flags).
-- Replies: {'ok', version} | {'conflict', current} | {'duplicate'} | {'precondition', index}

local expected = tonumber(ARGV[1])
if ARGV[6] ~= '0' and redis.call('EXISTS', KEYS[4]) == 1 then
  return {'duplicate'}
end
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= expected then
  return {'conflict', current}
end

-- Preconditions first, so a refused change writes nothing.
local nops = tonumber(ARGV[7])
for i = 1, nops do
  local name = ARGV[7 + (i - 1) * 3 + 1]
  local key = KEYS[4 + i]
  local a = ARGV[7 + (i - 1) * 3 + 2]
  if not (name == 'zadd' or name == 'zadd xx' or name == 'zrem' or name == 'zrem!' or name == 'sadd'
      or name == 'srem' or name == 'set' or name == 'setnx!' or name == 'scard<!' or name == 'is!'
      or name == 'del' or name == 'xadd') then
    return redis.error_reply('unknown index operation ' .. name)
  end
  -- A write to a key of another type would fail half-way through the script, after earlier
  -- writes: check every key's type up front so an error leaves nothing written.
  local want = 'string'
  if name == 'zadd' or name == 'zadd xx' or name == 'zrem' or name == 'zrem!' then want = 'zset' end
  if name == 'sadd' or name == 'srem' or name == 'scard<!' then want = 'set' end
  if name == 'xadd' then want = 'stream' end
  local has = redis.call('TYPE', key).ok
  -- DEL works on any type.
  if name ~= 'del' and has ~= 'none' and has ~= want then
    return redis.error_reply('index key ' .. key .. ' is a ' .. has .. ', not a ' .. want)
  end
  if name == 'zrem!' and redis.call('ZSCORE', key, a) == false then
    return {'precondition', i}
  end
  if name == 'setnx!' and redis.call('EXISTS', key) == 1 then
    return {'precondition', i}
  end
  if name == 'scard<!' and redis.call('SCARD', key) >= tonumber(a) then
    return {'precondition', i}
  end
  if name == 'is!' then
    local held = redis.call('GET', key)
    if ARGV[7 + (i - 1) * 3 + 3] == '1' then
      if held ~= false then return {'precondition', i} end
    elseif held ~= a then
      return {'precondition', i}
    end
  end
end

-- An empty json only checks the document: the change hangs off it (a request linked to an open
-- problem) without changing it, so such changes never conflict with one another.
local version = expected
if ARGV[2] ~= '' then
  version = expected + 1
  redis.call('HSET', KEYS[1], 'v', version, 'json', ARGV[2])
end
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[3])
end
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[3], '*', 'type', ARGV[5], 'event', ARGV[4])
end
if ARGV[6] ~= '0' then
  redis.call('SET', KEYS[4], '1', 'EX', tonumber(ARGV[6]))
end
for i = 1, nops do
  local name = ARGV[7 + (i - 1) * 3 + 1]
  local key = KEYS[4 + i]
  local a = ARGV[7 + (i - 1) * 3 + 2]
  local b = ARGV[7 + (i - 1) * 3 + 3]
  if name == 'zadd' then
    redis.call('ZADD', key, tonumber(b), a)
  elseif name == 'zadd xx' then
    redis.call('ZADD', key, 'XX', tonumber(b), a)
  elseif name == 'zrem' or name == 'zrem!' then
    redis.call('ZREM', key, a)
  elseif name == 'sadd' then
    redis.call('SADD', key, a)
  elseif name == 'srem' then
    redis.call('SREM', key, a)
  elseif name == 'del' then
    redis.call('DEL', key)
  elseif name == 'xadd' then
    -- A further event of the same change (a = type, b = envelope JSON).
    redis.call('XADD', key, '*', 'type', a, 'event', b)
  elseif name == 'set' or name == 'setnx!' then
    if tonumber(b) > 0 then
      redis.call('SET', key, a, 'EX', tonumber(b))
    else
      redis.call('SET', key, a)
    end
  end
end
return {'ok', version}
