-- One all-or-nothing rate-limit decision over several policies.
-- KEYS[i]: the state of policy i for the request's key.
-- ARGV[1]: the cost; then four arguments per policy:
--   algorithm ("t" token bucket, "s" sliding window, "f" fixed window),
--   limit, interval (token bucket: microseconds per unit; windows: the
--   period in microseconds), burst (token bucket capacity).
-- Reply: {allowed, then per policy: allowed, remaining, reset_us, retry_us}.
-- Time comes from the server so every instance agrees.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local n = #KEYS
local out = {1}
local writes = {}
local all = true
local floor, ceil = math.floor, math.ceil

local function num(s)
  return string.format('%.0f', s)
end

for i = 1, n do
  local j = 2 + (i - 1) * 4
  local alg = ARGV[j]
  local limit = tonumber(ARGV[j + 1])
  local p = tonumber(ARGV[j + 2])
  local burst = tonumber(ARGV[j + 3])
  local key = KEYS[i]
  local ok, remaining, reset, retry = 0, 0, 0, 0
  local raw = redis.call('GET', key)
  if alg == 't' then
    local capacity = burst * p
    local tat = tonumber(raw) or 0
    if tat < now then tat = now end
    local nxt = tat + cost * p
    if cost > burst then
      remaining = floor((capacity - (tat - now)) / p)
      reset = tat - now
      retry = capacity
    elseif nxt - capacity > now then
      remaining = floor((capacity - (tat - now)) / p)
      reset = tat - now
      retry = nxt - capacity - now
    else
      ok = 1
      remaining = floor((capacity - (nxt - now)) / p)
      reset = nxt - now
      writes[i] = {num(nxt), nxt - now, floor((capacity - (tat - now)) / p), tat - now}
    end
  else
    local win = floor(now / p)
    local elapsed = now - win * p
    local w, c, pr = 0, 0, 0
    if raw then
      local a, b, d = string.match(raw, '^(%d+):(%d+):(%d+)$')
      w, c, pr = tonumber(a) or -1, tonumber(b) or 0, tonumber(d) or 0
    end
    reset = p - elapsed
    if alg == 'f' then
      local count = 0
      if w == win then count = c end
      if cost <= limit and count + cost <= limit then
        ok = 1
        remaining = limit - count - cost
        writes[i] = {num(win) .. ':' .. num(count + cost) .. ':0', p - elapsed, limit - count, reset}
      else
        remaining = math.max(limit - count, 0)
        retry = reset
        if cost > limit then retry = retry + p end
      end
    else
      local curr, prev = 0, 0
      if w == win then
        curr, prev = c, pr
      elseif w == win - 1 then
        prev = c
      end
      local weighted = ceil(prev * (p - elapsed) / p)
      local estimate = weighted + curr
      if cost <= limit and estimate + cost <= limit then
        ok = 1
        remaining = limit - estimate - cost
        writes[i] = {num(win) .. ':' .. num(curr + cost) .. ':' .. num(prev), 2 * p - elapsed, limit - estimate, reset}
      else
        remaining = math.max(limit - estimate, 0)
        if cost > limit then
          retry = 2 * p - elapsed
        elseif curr + cost <= limit then
          retry = p - floor((limit - curr - cost) * p / prev) - elapsed
        else
          retry = 2 * p - elapsed - floor((limit - cost) * p / curr)
        end
      end
    end
  end
  if ok == 0 then all = false end
  out[#out + 1] = ok
  out[#out + 1] = remaining
  out[#out + 1] = reset
  out[#out + 1] = retry
end

if all then
  if cost > 0 then
    for i = 1, n do
      local wr = writes[i]
      redis.call('SET', KEYS[i], wr[1], 'PX', math.max(1, ceil(wr[2] / 1000)))
    end
  end
else
  -- The request takes nothing: policies that had room report their quota
  -- as it stays.
  out[1] = 0
  for i = 1, n do
    local wr = writes[i]
    if wr then
      out[3 + (i - 1) * 4] = wr[3]
      out[4 + (i - 1) * 4] = wr[4]
    end
  end
end
return out
