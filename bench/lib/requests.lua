-- Cycles through BENCH_REQUESTS: one request a line, "path<TAB>authorization" (may be empty).
-- Requests are formatted in init(), once wrk has set the Host header they need.
local requests = {}
local i = 0

init = function(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local path, auth = line:match("^([^\t]*)\t?(.*)$")
    local headers = {}
    if auth ~= nil and auth ~= "" then headers["Authorization"] = auth end
    requests[#requests + 1] = wrk.format("GET", path, headers)
  end
end

request = function()
  i = i + 1
  return requests[(i - 1) % #requests + 1]
end
