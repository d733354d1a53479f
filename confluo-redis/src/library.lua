#!lua name=confluo_redis_1
-- The server side of confluo-redis: every step that must see and change
-- several keys at once (room in the run, a producer's state, a partition's
-- owner) runs here, atomically, in one round trip. Loaded with FUNCTION LOAD,
-- so it is kept in the append-only file across restarts.
--
-- Keys of a run named N (one hash slot: {N}):
--   {N}:meta       hash: partitions, capacity, producers, created (ms)
--   {N}:depth      records added and not yet acknowledged
--   {N}:producers  hash: <slot> = running | finished | dead, <slot>:seq
--   {N}:lease:<k>  a producer's lease, with a time to live
--   {N}:stats      hash: produced, acknowledged, redelivered, dead_lettered,
--                  waited_ms
--   {N}:p:<i>      partition i's stream, read by one consumer group
--   {N}:dead       the dead-letter stream
--   {N}:members    sorted set: shard group members by lease expiry (ms)
--   {N}:shard:<i>  a shard's lease: its holder, with a time to live;
--                  {N}:shard:<i>:seen when it was last renewed (ms)
--
-- Some functions reach keys of the run they are not given (a producer's
-- lease, a shard's): all carry the hash tag {N}, so they are on the node of
-- the keys given.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- KEYS: meta, streams...  ARGV: group, partitions, capacity, producers
local function open(keys, args)
  local meta = keys[1]
  local wanted = { partitions = args[2], capacity = args[3], producers = args[4] }
  for field, value in pairs(wanted) do
    redis.call('HSETNX', meta, field, value)
    local held = redis.call('HGET', meta, field)
    if held ~= value then
      return redis.error_reply('CONFLUO_MISMATCH the run has ' .. field .. ' = ' .. held
        .. ', this side asked for ' .. value)
    end
  end
  redis.call('HSETNX', meta, 'created', now_ms())
  for i = 2, #keys do
    local ok = redis.pcall('XGROUP', 'CREATE', keys[i], args[1], '0', 'MKSTREAM')
    if type(ok) == 'table' and ok.err and not string.find(ok.err, 'BUSYGROUP') then
      return ok
    end
  end
  return 'OK'
end

-- KEYS: producers, lease  ARGV: slot, lease ms
-- Returns the last batch number this slot added (0 for a new producer).
local function join(keys, args)
  local state = redis.call('HGET', keys[1], args[1])
  if state == 'finished' or state == 'dead' then
    return redis.error_reply('CONFLUO_SLOT producer slot ' .. args[1] .. ' is ' .. state)
  end
  if state == 'running' and redis.call('EXISTS', keys[2]) == 1 then
    return redis.error_reply('CONFLUO_SLOT producer slot ' .. args[1] .. ' is held by a live producer')
  end
  redis.call('HSET', keys[1], args[1], 'running')
  redis.call('SET', keys[2], '1', 'PX', args[2])
  return tonumber(redis.call('HGET', keys[1], args[1] .. ':seq') or '0')
end

-- KEYS: producers, lease  ARGV: slot, lease ms.  1 while running, else 0.
local function beat(keys, args)
  if redis.call('HGET', keys[1], args[1]) ~= 'running' then
    return 0
  end
  redis.call('SET', keys[2], '1', 'PX', args[2])
  return 1
end

-- KEYS: producers, lease  ARGV: slot
local function finish(keys, args)
  if redis.call('HGET', keys[1], args[1]) == 'running' then
    redis.call('HSET', keys[1], args[1], 'finished')
    redis.call('DEL', keys[2])
  end
  return redis.call('HGET', keys[1], args[1]) or 'absent'
end

-- KEYS: depth, producers, stats, streams...
-- ARGV: slot, seq, capacity, ms the batch waited for room, then
-- (partition, data) per record.
-- Returns {1, depth} when added (or added before: a retried batch),
-- {0, depth} when the run has no room for the whole batch,
-- {-1, state} when this producer is no longer running.
local function add(keys, args)
  local state = redis.call('HGET', keys[2], args[1])
  if state ~= 'running' then
    return { -1, state or 'absent' }
  end
  local depth = tonumber(redis.call('GET', keys[1]) or '0')
  local last = tonumber(redis.call('HGET', keys[2], args[1] .. ':seq') or '0')
  if tonumber(args[2]) <= last then
    return { 1, depth }
  end
  local n = (#args - 4) / 2
  if depth + n > tonumber(args[3]) then
    return { 0, depth }
  end
  for i = 5, #args, 2 do
    redis.call('XADD', keys[4 + tonumber(args[i])], '*', 'd', args[i + 1])
  end
  redis.call('HSET', keys[2], args[1] .. ':seq', args[2])
  redis.call('HINCRBY', keys[3], 'produced', n)
  if args[4] ~= '0' then
    redis.call('HINCRBY', keys[3], 'waited_ms', args[4])
  end
  return { 1, redis.call('INCRBY', keys[1], n) }
end

-- KEYS: depth, stats, streams...
-- ARGV: group, then per partition touched: partition, count, ids...
-- Acknowledges and deletes the records: the run's memory stays bounded.
local function ack(keys, args)
  local acked = 0
  local i = 2
  while i <= #args do
    local stream = keys[3 + tonumber(args[i])]
    local count = tonumber(args[i + 1])
    local ids = {}
    for j = 1, count do
      ids[j] = args[i + 1 + j]
    end
    acked = acked + redis.call('XACK', stream, args[1], unpack(ids))
    redis.call('XDEL', stream, unpack(ids))
    i = i + 2 + count
  end
  if acked > 0 then
    redis.call('DECRBY', keys[1], acked)
    redis.call('HINCRBY', keys[2], 'acknowledged', acked)
  end
  return acked
end

-- KEYS: dead, stats  ARGV: max length, partition, id, reason, data
local function dead_letter(keys, args)
  redis.call('XADD', keys[1], 'MAXLEN', '~', args[1], '*',
    'partition', args[2], 'id', args[3], 'reason', args[4], 'd', args[5])
  redis.call('HINCRBY', keys[2], 'dead_lettered', 1)
  return 1
end

-- Who holds a partition: the consumers with records of it pending.
-- Returns mine, others (counts of pending records).
local function holders(stream, group, me)
  local summary = redis.call('XPENDING', stream, group)
  local mine, others = 0, 0
  if tonumber(summary[1]) > 0 and summary[4] then
    for _, entry in ipairs(summary[4]) do
      if entry[1] == me then
        mine = mine + tonumber(entry[2])
      else
        others = others + tonumber(entry[2])
      end
    end
  end
  return mine, others
end

-- KEYS: stats, streams...  ARGV: group, consumer, count, claim after ms, start
-- Reads from the first partition, from `start` on, that this consumer may
-- read: one whose pending records are all its own, so that records of a
-- partition (and so of a key) are worked on by one consumer at a time.
-- A partition held by another consumer is claimed from it once its records
-- have been idle for `claim after`: that consumer is taken for dead.
-- Returns {partition, redelivered (0 or 1), entries}, or false.
local function read(keys, args)
  local group, me, count = args[1], args[2], args[3]
  local partitions = #keys - 1
  for step = 0, partitions - 1 do
    local p = (tonumber(args[5]) + step) % partitions
    local stream = keys[2 + p]
    local mine, others = holders(stream, group, me)
    if others > 0 then
      local claimed = redis.call('XAUTOCLAIM', stream, group, me, args[4], '0-0', 'COUNT', count)
      if #claimed[2] > 0 then
        redis.call('HINCRBY', keys[1], 'redelivered', #claimed[2])
        return { p, 1, claimed[2] }
      end
    elseif mine > 0 then
      -- Read before, but the reply never reached this consumer (a lost
      -- connection): its records come again, flagged.
      local again = redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', count, 'STREAMS', stream, '0')
      if again and #again[1][2] > 0 then
        redis.call('HINCRBY', keys[1], 'redelivered', #again[1][2])
        return { p, 1, again[1][2] }
      end
    else
      local new = redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', count, 'STREAMS', stream, '>')
      if new then
        return { p, 0, new[1][2] }
      end
    end
  end
  return false
end

-- KEYS: meta, depth, producers, stats, streams...  ARGV: group, join within ms
-- The run as every side sees it. A producer slot whose lease expired, or
-- that never joined within `join within` of the run's creation, is marked
-- dead here, once: its records already added are still delivered.
-- Returns {depth, pending, produced, acknowledged, redelivered,
-- dead_lettered, waited ms, states...}.
local function status(keys, args)
  local producers = tonumber(redis.call('HGET', keys[1], 'producers'))
  local created = tonumber(redis.call('HGET', keys[1], 'created'))
  local prefix = string.sub(keys[3], 1, #keys[3] - #'producers')
  local states = {}
  for slot = 0, producers - 1 do
    local state = redis.call('HGET', keys[3], tostring(slot))
    if state == 'running' and redis.call('EXISTS', prefix .. 'lease:' .. slot) == 0 then
      state = 'dead'
    elseif not state and now_ms() - created > tonumber(args[2]) then
      state = 'dead'
    end
    if state == 'dead' then
      redis.call('HSET', keys[3], tostring(slot), 'dead')
    end
    states[slot + 1] = state or 'waiting'
  end
  local pending = 0
  for i = 5, #keys do
    pending = pending + tonumber(redis.call('XPENDING', keys[i], args[1])[1])
  end
  local function stat(field)
    return tonumber(redis.call('HGET', keys[4], field) or '0')
  end
  local reply = {
    tonumber(redis.call('GET', keys[2]) or '0'), pending, stat('produced'),
    stat('acknowledged'), stat('redelivered'), stat('dead_lettered'), stat('waited_ms'),
  }
  for _, state in ipairs(states) do
    table.insert(reply, state)
  end
  return reply
end

-- KEYS: members  ARGV: member, lease ms
-- Renews this member of the shard group and forgets those whose lease
-- expired; returns the live members.
local function members(keys, args)
  local now = now_ms()
  redis.call('ZREMRANGEBYSCORE', keys[1], '-inf', now)
  redis.call('ZADD', keys[1], now + tonumber(args[2]), args[1])
  return redis.call('ZRANGE', keys[1], 0, -1)
end

-- KEYS: members  ARGV: member
local function leave(keys, args)
  return redis.call('ZREM', keys[1], args[1])
end

-- KEYS: members  ARGV: shard key prefix, member, lease ms, n, n wanted
-- shards, then shards to let go.
-- Takes or renews the wanted shards whose lease is free or this member's,
-- lets go of the others. Returns {shard, gap ms} for each shard held now:
-- gap -1 when it was held already, -2 when nobody ever held it, else the
-- time since its last holder last renewed it.
local function leases(keys, args)
  local prefix, me, lease, wanted = args[1], args[2], args[3], tonumber(args[4])
  local now = now_ms()
  local held = {}
  for i = 5, 4 + wanted do
    local shard = prefix .. args[i]
    local holder = redis.call('GET', shard)
    if holder == me then
      redis.call('PEXPIRE', shard, lease)
      redis.call('SET', shard .. ':seen', now)
      table.insert(held, { tonumber(args[i]), -1 })
    elseif not holder then
      redis.call('SET', shard, me, 'PX', lease)
      local seen = redis.call('GET', shard .. ':seen')
      redis.call('SET', shard .. ':seen', now)
      table.insert(held, { tonumber(args[i]), seen and (now - tonumber(seen)) or -2 })
    end
  end
  for i = 5 + wanted, #args do
    local shard = prefix .. args[i]
    if redis.call('GET', shard) == me then
      redis.call('DEL', shard)
      -- Handed over: the next holder reports the handover's gap only.
      redis.call('SET', shard .. ':seen', now)
    end
  end
  return held
end

redis.register_function('confluo_members', members)
redis.register_function('confluo_leave', leave)
redis.register_function('confluo_leases', leases)
redis.register_function('confluo_open', open)
redis.register_function('confluo_join', join)
redis.register_function('confluo_beat', beat)
redis.register_function('confluo_finish', finish)
redis.register_function('confluo_add', add)
redis.register_function('confluo_ack', ack)
redis.register_function('confluo_dead_letter', dead_letter)
redis.register_function('confluo_read', read)
redis.register_function('confluo_status', status)
