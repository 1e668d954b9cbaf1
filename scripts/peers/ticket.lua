-- wrk script of scripts/peers.sh: every call creates a new ticket/request from a new customer
-- (phone or email made of the run id, the thread's number and a per-thread counter), on the
-- system named by PEER_KIND (komek, helpdesk, rt), with the Authorization, Cookie and Referer
-- headers of PEER_AUTHZ, PEER_COOKIE and PEER_REFERER when set. done() prints one PEERS_RESULT line.
local kind = os.getenv("PEER_KIND") or "komek"
local extra = {
  Authorization = os.getenv("PEER_AUTHZ") or "",
  Cookie = os.getenv("PEER_COOKIE") or "",
  Referer = os.getenv("PEER_REFERER") or "",
}
local run = os.getenv("PEER_RUN") or "0"
local queue = os.getenv("PEER_QUEUE") or "1"

local texts = {
  "Интернет жұмыс істемейді",
  "Балансымнан ақша жоғалып кетті, тексеріңізші",
  "Қоңырау шала алмаймын, байланыс жоқ",
  "Шетелде роуминг қосылмай тұр",
  "Не работает мобильный интернет",
  "С баланса пропали деньги, проверьте пожалуйста",
  "Не могу позвонить, нет связи",
  "Хочу сменить тариф",
}
local operators = { "701", "702", "705", "707", "747", "771", "775", "777" }

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  ok = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  for name, value in pairs(extra) do
    if value ~= "" then
      wrk.headers[name] = value
    end
  end
end

-- JSON string escaping for the texts above (no quotes or backslashes in them).
local function q(s)
  return '"' .. s .. '"'
end

function request()
  n = n + 1
  local text = texts[(n % #texts) + 1]
  local body
  if kind == "komek" then
    -- +7 7xx and seven digits: the thread owns a block of 4,000,000 numbers.
    local op = operators[(n % #operators) + 1]
    local digits = string.format("%07d", (tid - 1) * 4000000 + n)
    body = '{"channel":"web","customer":{"msisdn":' .. q("+7" .. op .. digits) .. '},"text":' .. q(text) .. '}'
  else
    local email = string.format("c-%s-%d-%d@example.kz", run, tid, n)
    if kind == "helpdesk" then
      body = '{"queue":' .. queue .. ',"title":' .. q(text) .. ',"description":' .. q(text)
        .. ',"submitter_email":' .. q(email) .. ',"priority":3}'
    else
      body = '{"Queue":"General","Subject":' .. q(text) .. ',"Content":' .. q(text)
        .. ',"Requestor":' .. q(email) .. '}'
    end
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 201 or (kind == "helpdesk" and status == 200) then
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local created = 0
  for _, t in ipairs(threads) do
    created = created + (t:get("ok") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "PEERS_RESULT responses=%d ok=%d connect=%d read=%d write=%d status=%d timeout=%d secs=%.3f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, created, e.connect, e.read, e.write, e.status, e.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
