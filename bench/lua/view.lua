-- GET one record by id, ids drawn at random from the file named by the
-- first script argument (one id a line). The path prefix is the second.
local ids = {}
local prefix = "/api/collections/posts/records/"

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then ids[#ids + 1] = line end
  end
  if args[2] then prefix = args[2] end
  math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
