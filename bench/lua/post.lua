-- POST a fixed JSON body read from the file named by the first script
-- argument (the GraphQL scenario's query).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
  local f = assert(io.open(args[1], "r"))
  wrk.body = f:read("*a")
  f:close()
end
