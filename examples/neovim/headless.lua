-- Runs the plugin without a UI (used by the tests):
--   AGENTD_COMMAND="python -m agentd" nvim --headless -u NONE -l examples/neovim/headless.lua "hello"
-- Prints the answer buffer and exits with the turn's code.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)")
package.path = here .. "?.lua;" .. package.path
local agentd = require("agentd")
agentd.setup({ cmd = vim.split(os.getenv("AGENTD_COMMAND") or "agentd", "%s+", { trimempty = true }) })
table.insert(agentd.cmd, "serve")
agentd.open_buffers = false

local finished
agentd.on_turn_end = function(turn) finished = turn end
agentd.ask(table.concat(_G.arg, " "))
if not vim.wait(30000, function() return finished ~= nil end, 20) then
  io.stderr:write("no answer within 30 s\n")
  os.exit(1)
end
io.stdout:write(table.concat(vim.api.nvim_buf_get_lines(finished.buf, 0, -1, false), "\n") .. "\n")
agentd.stop()
vim.wait(5000, function() return agentd.rpc == nil end, 20)
os.exit(finished.code)
