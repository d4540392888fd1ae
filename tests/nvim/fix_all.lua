-- Driven by tests/editor_nvim.rs, for Neovim 0.7 (Debian 12's): `vim.lsp.start` came in 0.8, so
-- the client is started and attached with the older `start_client` / `buf_attach_client`.
--
--   nvim --headless --clean -n Dockerfile -c 'luafile tests/nvim/fix_all.lua'
--
-- Attaches `$DFOPT_BIN server` to the current buffer (initializationOptions from the JSON in
-- $DFOPT_INIT_OPTIONS), waits for its diagnostics, requests the `source.fixAll` code actions,
-- applies the dfopt one as Neovim applies any workspace edit, writes the buffer and quits. The
-- outcome ("ok ..." or "fail ...") goes to the file $DFOPT_NVIM_RESULT; a failure also exits
-- with status 3.

local result_path = os.getenv("DFOPT_NVIM_RESULT")

local function finish(ok, message)
  local f = io.open(result_path, "w")
  if f then
    f:write((ok and "ok " or "fail ") .. message .. "\n")
    f:close()
  end
  if ok then
    vim.cmd("qall!")
  else
    vim.cmd("cquit! 3")
  end
end

local function run()
  local bufnr = vim.api.nvim_get_current_buf()
  local options = vim.fn.json_decode(os.getenv("DFOPT_INIT_OPTIONS") or "{}")
  local client_id = vim.lsp.start_client({
    name = "dfopt",
    cmd = { os.getenv("DFOPT_BIN"), "server" },
    root_dir = vim.fn.getcwd(),
    init_options = options,
  })
  if not client_id then
    return finish(false, "could not start dfopt server")
  end
  vim.lsp.buf_attach_client(bufnr, client_id)

  local got = vim.wait(20000, function()
    return #vim.diagnostic.get(bufnr) > 0
  end, 20)
  if not got then
    return finish(false, "no diagnostics within 20 s")
  end
  local count = #vim.diagnostic.get(bufnr)

  local client = vim.lsp.get_client_by_id(client_id)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = { line = 0, character = 0 }, ["end"] = { line = 0, character = 0 } },
    context = { diagnostics = {}, only = { "source.fixAll" } },
  }
  local response = client.request_sync("textDocument/codeAction", params, 20000, bufnr)
  if not response or response.err then
    return finish(false, "codeAction failed: " .. vim.inspect(response))
  end
  local fix_all
  for _, action in ipairs(response.result or {}) do
    if action.kind == "source.fixAll.dfopt" then
      fix_all = action
    end
  end
  if not fix_all then
    return finish(false, "no source.fixAll.dfopt action in " .. vim.inspect(response.result))
  end
  vim.lsp.util.apply_workspace_edit(fix_all.edit, client.offset_encoding)
  vim.cmd("write")
  client.stop()
  finish(true, count .. " diagnostics; applied: " .. fix_all.title)
end

local ok, err = pcall(run)
if not ok then
  finish(false, "error: " .. tostring(err))
end
