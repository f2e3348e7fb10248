-- wrk script: each request carries the next bearer token from BENCH_TOKENS_FILE (one per
-- line), round-robin, so a run looks like many users and every per-user rate limit stays
-- at its default without being exceeded. Used by http_baseline.py for /api/v1/auth/me.
local tokens = {}

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS_FILE")) do
    if #line > 0 then
      tokens[#tokens + 1] = line
    end
  end
  -- Threads start at different places in the list.
  counter = math.random(#tokens)
end

function request()
  counter = counter % #tokens + 1
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. tokens[counter] })
end
