// A file of its own so the page runs under a CSP without inline script.
// The H5 jump page: asks /api/scheme_code for an openlink for the path and query in this
// page's own URL, shows it as a link, then goes there. Errors are shown, never swallowed.
(function () {
  "use strict";
  var statusEl = document.getElementById("status");
  var openEl = document.getElementById("open");
  var errorEl = document.getElementById("error");

  function fail(message) {
    statusEl.textContent = "无法打开小程序";
    errorEl.textContent = message;
    errorEl.hidden = false;
    document.body.setAttribute("data-state", "error");
  }

  var own = new URLSearchParams(window.location.search);
  var ask = new URLSearchParams();
  ["path", "query", "env_version", "app", "cq"].forEach(function (name) {
    var value = own.get(name);
    if (value !== null && value !== "") ask.set(name, value);
  });
  // plaintext=1: the plain-text scheme, built without a WeChat call.
  if (own.get("plaintext") === "1" || own.get("plaintext") === "true") ask.set("plaintext", "true");
  // Relative, so the page also works when the product is served under a prefix.
  var api = new URL("api/scheme_code", window.location.href);
  api.search = ask.toString();

  fetch(api.toString(), { headers: { Accept: "application/json" }, cache: "no-store" })
    .then(function (res) {
      return res.json().then(
        function (body) { return body; },
        function () { throw new Error("服务器返回了无法识别的内容(HTTP " + res.status + ")"); }
      );
    })
    .then(function (body) {
      var link = body && body.data && body.data.openlink;
      if (!body || body.code !== 200 || typeof link !== "string" || link.indexOf("weixin://") !== 0) {
        var message = (body && body.msg) || "获取小程序链接失败";
        var data = body && body.data;
        if (data && data.errcode !== undefined) {
          message += "(errcode " + data.errcode + (data.errmsg ? ": " + data.errmsg : "") + ")";
        }
        fail(message);
        return;
      }
      openEl.href = link;
      openEl.hidden = false;
      statusEl.textContent = "如未自动跳转，请点击下方按钮";
      document.body.setAttribute("data-state", "ready");
      // Android needs the page itself to go to the scheme; iOS also follows the link.
      window.location.href = link;
    })
    .catch(function (err) {
      // fetch rejects with a TypeError when the network fails.
      fail(err instanceof TypeError || !err.message ? "网络错误，请稍后重试" : err.message);
    });
})();
