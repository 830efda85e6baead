-- agentd in Neovim through vim.lsp.rpc: the daemon speaks LSP framing, so Neovim's own JSON-RPC
-- client drives it (no plugin manager, no dependency). Put this file on your runtimepath as
-- lua/agentd.lua, then:
--
--   require("agentd").setup({ cmd = { "agentd", "serve" } })
--   :AgentdAsk what does this project do?
--
-- The answer streams into a scratch buffer; :AgentdInterrupt stops the turn. Tool approvals
-- (approval_policy "ask") are asked with vim.fn.confirm.
local M = { buffers = {} }

local CODES = { ["session.completed"] = 0, ["session.error"] = 1, ["session.interrupted"] = 130 }

--- Start the daemon (once) and return the rpc client.
function M.client()
  if M.rpc and not M.rpc.is_closing() then
    return M.rpc
  end
  local dispatchers = {
    notification = function(method, params)
      if method == "event" then
        vim.schedule(function() M.on_event(params) end)
      end
    end,
    server_request = function(method, params)
      if method == "session.tool.approve" then
        local call = params.call or {}
        local choice = vim.fn.confirm(
          ("agentd wants to run %s %s"):format(call.name, vim.json.encode(call.input or {})),
          "&Allow\n&Always\n&Deny", 3)
        local decision = ({ "allow", "allow_session", "deny" })[choice] or "deny"
        return { decision = decision }, nil
      end
      return nil, vim.lsp.rpc.rpc_response_error(-32601, "not supported: " .. method)
    end,
    on_exit = function(code, signal)
      M.rpc = nil
      M.exit_code = code
    end,
  }
  if vim.fn.has("nvim-0.10") == 1 then
    M.rpc = vim.lsp.rpc.start(M.cmd, dispatchers)
  else -- 0.9: start(cmd, cmd_args, dispatchers)
    M.rpc = vim.lsp.rpc.start(M.cmd[1], vim.list_slice(M.cmd, 2), dispatchers)
  end
  return M.rpc
end

--- Append streamed text to the turn's buffer.
local function append(buf, text)
  local last = vim.api.nvim_buf_line_count(buf)
  local tail = vim.api.nvim_buf_get_lines(buf, last - 1, last, false)[1] or ""
  local lines = vim.split(tail .. text, "\n", { plain = true })
  vim.api.nvim_buf_set_lines(buf, last - 1, last, false, lines)
end

function M.on_event(event)
  local payload = event.payload or {}
  local turn = M.buffers[payload.turn_id or ""]
  if event.type == "session.stream.chunk" and turn then
    if turn.separate then
      append(turn.buf, "\n\n") -- each model round is its own message
      turn.separate = false
    end
    append(turn.buf, payload.chunk.answerText)
    turn.printed = true
  elseif event.type == "session.message.appended" and M.current and payload.message.kind == "assistant" then
    M.current.separate = M.current.printed
  elseif CODES[event.type] and turn then
    turn.code = CODES[event.type]
    if event.type == "session.error" then
      append(turn.buf, ("\n[error:%s] %s"):format(payload.kind, payload.message))
    end
    if M.on_turn_end then M.on_turn_end(turn) end
  end
end

--- Ask a question in the current session (created on first use).
function M.ask(prompt, on_sent)
  local rpc = M.client()
  local function send()
    rpc.request("session.send", { session_id = M.session_id, text = prompt }, function(err, result)
      if err then
        vim.notify("agentd: " .. err.message, vim.log.levels.ERROR)
        return
      end
      vim.schedule(function()
        local buf = vim.api.nvim_create_buf(true, true)
        vim.api.nvim_buf_set_name(buf, "agentd://" .. result.turn_id)
        M.current = { buf = buf, turn_id = result.turn_id, printed = false }
        M.buffers[result.turn_id] = M.current
        if M.open_buffers ~= false then vim.cmd.sbuffer(buf) end
        if on_sent then on_sent(M.current) end
      end)
    end)
  end
  if M.session_id then
    return send()
  end
  rpc.request("session.create", { cwd = vim.fn.getcwd() }, function(err, result)
    if err then
      vim.notify("agentd: " .. err.message, vim.log.levels.ERROR)
      return
    end
    M.session_id = result.session_id
    send()
  end)
end

function M.interrupt()
  if M.rpc and M.session_id then
    M.rpc.request("session.interrupt", { session_id = M.session_id }, function() end)
  end
end

function M.stop()
  if M.rpc then
    M.rpc.request("shutdown", nil, function()
      M.rpc.notify("exit")
    end)
  end
end

function M.setup(opts)
  M.cmd = (opts and opts.cmd) or { "agentd", "serve" }
  vim.api.nvim_create_user_command("AgentdAsk", function(o) M.ask(o.args) end, { nargs = "+" })
  vim.api.nvim_create_user_command("AgentdInterrupt", M.interrupt, {})
  vim.api.nvim_create_autocmd("VimLeavePre", { callback = M.stop })
end

return M
