-- wrk script for bench/compare --mode fanout: counts the answers that are not
-- 200 with exactly the expected body (a fan-out whose systems failed still
-- answers 200, with rc and error per system, so wrk's own status count would
-- miss it). Usage: wrk ... -s check_answers.lua URL -- EXPECTED_BODY_FILE
-- Prints "wrong answers: N" and, when N > 0, the first one (status and the
-- start of its body). Bodies are compared whole: LuaJIT interns strings, so an
-- identical body costs one hash and one compare.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  want = f:read("*a")
  f:close()
  wrong = 0
  first = ""
end

function response(status, headers, body)
  if status ~= 200 or body ~= want then
    wrong = wrong + 1
    if first == "" then
      first = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local n, f = 0, ""
  for _, t in ipairs(threads) do
    n = n + t:get("wrong")
    if f == "" then
      f = t:get("first")
    end
  end
  io.write(string.format("wrong answers: %d\n", n))
  if n > 0 then
    io.write("first wrong answer: " .. string.gsub(f, "[\r\n]+", " ") .. "\n")
  end
end
