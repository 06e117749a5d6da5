// The admin page: asks for the admin token, keeps it in sessionStorage, and reads the
// /admin JSON API with it. Plain JS, no build step; data is only ever set as text.
(function () {
  "use strict";
  var KEY = "wxa_admin_token";
  var PER_PAGE = 20;
  var state = { tab: "codes", codes: 1, links: 1, users: 1 };
  var $ = function (id) { return document.getElementById(id); };

  // A token handed over in the fragment (#token=...&tab=stats) is taken once and removed
  // from the address bar and history, so it is not left in the URL.
  (function takeTokenFromFragment() {
    var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!m) return;
    var tab = /(?:^#|&)tab=(codes|links|users|stats|gateway)(?:&|$)/.exec(location.hash);
    if (tab) state.tab = tab[1];
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  })();

  function token() { return sessionStorage.getItem(KEY) || ""; }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function time(unix) {
    if (!unix) return "—";
    var d = new Date(unix * 1000), p = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " + p(d.getHours()) + ":" + p(d.getMinutes());
  }

  function showError(msg) {
    $("error").textContent = msg;
    $("error").hidden = !msg;
    if (msg) document.body.dataset.state = "error";
  }

  // Schemes and URL links share one daily open cap per app: asked once per app shown,
  // through any of its links (GET /admin/links/{id}/quota).
  var QUOTA_KINDS = { scheme: true, url_link: true };
  function visitQuotas(body, items) {
    var byApp = {};
    items.forEach(function (l) { if (QUOTA_KINDS[l.kind] && !byApp[l.app_id]) byApp[l.app_id] = l.id; });
    return Promise.all(Object.keys(byApp).map(function (appId) {
      return api("/admin/links/" + byApp[appId] + "/quota").then(
        function (q) { return String(q.remain_visit_quota); },
        function (err) { return "查询失败: " + err.message; }
      ).then(function (text) {
        Array.prototype.forEach.call(body.querySelectorAll("td.quota"), function (td) {
          if (td.getAttribute("data-app") === appId) td.textContent = text;
        });
      });
    }));
  }

  function api(path, params) {
    var q = new URLSearchParams();
    Object.keys(params || {}).forEach(function (k) { if (params[k] !== "" && params[k] != null) q.set(k, params[k]); });
    var url = path + (q.toString() ? "?" + q : "");
    return fetch(url, { headers: { Authorization: "Bearer " + token() } }).then(function (res) {
      return res.json().catch(function () { return { code: res.status, msg: "HTTP " + res.status }; })
        .then(function (body) {
          if (res.status === 401 || res.status === 404) {
            logout(res.status === 401 ? "令牌无效，请重新登录" : "管理接口未启用（admin.token 为空）");
            throw new Error("auth");
          }
          if (body.code !== 200) throw new Error(body.msg || "请求失败");
          return body.data;
        });
    });
  }

  function copy(text, button) {
    var done = function () { var t = button.textContent; button.textContent = "已复制"; setTimeout(function () { button.textContent = t; }, 1200); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else { fallbackCopy(text); done(); }
  }
  function fallbackCopy(text) {
    var area = el("textarea", { readonly: "" });
    area.value = text; area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    area.remove();
  }
  function copyButton(text) {
    var b = el("button", { type: "button", class: "small ghost", text: "复制链接", title: text });
    b.addEventListener("click", function () { copy(text, b); });
    return b;
  }

  function pager(name, data) {
    var box = document.querySelector('.pager[data-for="' + name + '"]');
    box.textContent = "";
    var pages = Math.max(1, Math.ceil(data.total / data.per_page));
    var prev = el("button", { type: "button", class: "ghost", text: "上一页" });
    var next = el("button", { type: "button", class: "ghost", text: "下一页" });
    prev.disabled = data.page <= 1;
    next.disabled = data.page >= pages;
    prev.addEventListener("click", function () { state[name] = data.page - 1; load(name); });
    next.addEventListener("click", function () { state[name] = data.page + 1; load(name); });
    box.append(prev, el("span", { text: "第 " + data.page + " / " + pages + " 页，共 " + data.total + " 条" }), next);
  }

  function formParams(form) {
    var out = {};
    new FormData(form).forEach(function (v, k) {
      if (v === "") return;
      if (k === "created_from") v = Math.floor(new Date(v + "T00:00:00").getTime() / 1000);
      if (k === "created_to") v = Math.floor(new Date(v + "T23:59:59").getTime() / 1000);
      out[k] = v;
    });
    return out;
  }

  function codeCard(c) {
    // Served by this product at /image/<file>; the absolute URL (server.public_url) is what
    // the copy button gives.
    var src = new URL(c.url).pathname;
    var img = el("img", { src: src, alt: c.kind + " " + c.page, loading: "lazy", "data-id": String(c.id) });
    img.addEventListener("load", function () { img.dataset.loaded = "1"; });
    img.addEventListener("error", function () { img.dataset.loaded = "0"; });
    return el("article", { class: "code" }, [
      el("a", { class: "thumb", href: src, target: "_blank", rel: "noopener" }, [img]),
      el("div", { class: "meta" }, [
        el("div", { class: "row" }, [el("span", { class: "badge", text: c.kind }), el("span", { class: "muted", text: "#" + c.id })]),
        el("div", { text: c.page || "(首页)", title: c.page }),
        el("div", { class: "muted", text: c.scene ? "scene: " + c.scene : "—", title: c.scene }),
        el("div", { class: "row" }, [el("span", { class: "muted", text: time(c.created_at) }), copyButton(c.url)])
      ])
    ]);
  }

  var loaders = {
    codes: function () {
      var p = formParams($("code-filters"));
      p.page = state.codes; p.per_page = PER_PAGE;
      return api("/admin/codes", p).then(function (data) {
        var g = $("gallery");
        g.textContent = "";
        if (!data.items.length) g.appendChild(el("p", { class: "empty", text: "没有符合条件的小程序码" }));
        data.items.forEach(function (c) { g.appendChild(codeCard(c)); });
        pager("codes", data);
      });
    },
    links: function () {
      var p = formParams($("link-filters"));
      p.page = state.links; p.per_page = PER_PAGE;
      return api("/admin/links", p).then(function (data) {
        var body = $("link-table").tBodies[0];
        body.textContent = "";
        data.items.forEach(function (l) {
          body.appendChild(el("tr", {}, [
            el("td", { text: String(l.id) }),
            el("td", {}, [el("span", { class: "badge", text: l.kind })]),
            el("td", { class: "link" }, [el("div", { text: l.link }), copyButton(l.link)]),
            el("td", { text: (l.path || "(首页)") + (l.query ? "?" + l.query : "") }),
            el("td", { text: l.expires_at ? time(l.expires_at) : "永久" }),
            el("td", {}, [el("span", { class: "badge " + (l.valid ? "ok" : "off"), text: l.valid ? "有效" : "已过期" })]),
            el("td", { text: time(l.created_at) }),
            el("td", { class: "quota", "data-app": QUOTA_KINDS[l.kind] ? l.app_id : "", text: "—" })
          ]));
        });
        if (!data.items.length) body.appendChild(el("tr", {}, [el("td", { colspan: "8", class: "empty", text: "暂无链接" })]));
        pager("links", data);
        return visitQuotas(body, data.items);
      });
    },
    users: function () {
      return api("/admin/users", { page: state.users, per_page: PER_PAGE }).then(function (data) {
        var body = $("user-table").tBodies[0];
        body.textContent = "";
        data.items.forEach(function (u) {
          body.appendChild(el("tr", {}, [
            el("td", { text: String(u.id) }),
            el("td", { text: u.app || u.app_id }),
            el("td", { class: "link", text: u.openid }),
            el("td", { text: u.phone || "—" }),
            el("td", { text: time(u.created_at) }),
            el("td", { text: time(u.last_login_at) })
          ]));
        });
        if (!data.items.length) body.appendChild(el("tr", {}, [el("td", { colspan: "6", class: "empty", text: "暂无用户" })]));
        pager("users", data);
      });
    },
    stats: function () {
      return api("/admin/stats").then(function (data) {
        var grid = $("app-stats");
        grid.textContent = "";
        data.apps.forEach(function (a) {
          var pct = a.quota.limit ? Math.min(100, 100 * a.quota.used / a.quota.limit) : 0;
          var bar = el("div", { class: "meter" }, [el("span", {})]);
          bar.firstChild.style.width = pct.toFixed(1) + "%";
          var dl = el("dl", {}, []);
          [["令牌模式", a.token.mode], ["令牌到期", a.token.stored ? time(a.token.expires_at) + "（剩 " + a.token.expires_in + " 秒）" : "尚未获取"],
           ["最近刷新", time(a.token.refreshed_at)], ["刷新次数", String(a.token.refresh_count)],
           ["码额度", a.quota.used + " / " + a.quota.limit + "（剩 " + a.quota.left + "）"]].forEach(function (r) {
            dl.append(el("dt", { text: r[0] }), el("dd", { text: r[1] }));
          });
          grid.appendChild(el("div", { class: "card" }, [el("strong", { text: a.app + " · " + a.app_id }), dl, bar]));
        });
        var body = $("upstream-table").tBodies[0];
        body.textContent = "";
        data.upstream.forEach(function (u) {
          var codes = Object.keys(u.by_errcode).map(function (k) { return k + ": " + u.by_errcode[k]; }).join("  ");
          body.appendChild(el("tr", {}, [el("td", { text: u.api }), el("td", { text: String(u.calls) }), el("td", { text: String(u.errors) }), el("td", { text: codes })]));
        });
        if (!data.upstream.length) body.appendChild(el("tr", {}, [el("td", { colspan: "4", class: "empty", text: "最近 24 小时没有调用" })]));
      });
    },
    // The WeChat API gateway (/wx/): its clients, and calls per client, API and errcode.
    gateway: function () {
      return api("/admin/stats").then(function (data) {
        var g = data.gateway;
        $("gateway-state").textContent = g.enabled
          ? "网关已启用：/wx/ ，替身令牌有效期 " + g.token_ttl_secs + " 秒"
          : "网关未启用（gateway.enabled = false 或没有客户端）：/wx/ 返回 404";
        var grid = $("gateway-clients");
        grid.textContent = "";
        g.clients.forEach(function (c) {
          var dl = el("dl", {}, []);
          [["小程序", c.apps.join(", ") || "—"], ["开放平台授权方", c.authorizers ? "可代调用" : "否"],
           ["允许的接口", c.allow.join(", ") || "—"], ["调用", c.calls + "（错误 " + c.errors + "）"],
           ["最近调用", time(c.last_call_at)]].forEach(function (r) {
            dl.append(el("dt", { text: r[0] }), el("dd", { text: r[1] }));
          });
          grid.appendChild(el("div", { class: "card" }, [el("strong", { text: c.name }), dl]));
        });
        var body = $("gateway-table").tBodies[0];
        body.textContent = "";
        g.calls.forEach(function (r) {
          body.appendChild(el("tr", {}, [
            el("td", { text: r.client }), el("td", { text: r.api }),
            el("td", {}, [el("span", { class: "badge " + (r.errcode === "0" ? "ok" : "off"), text: r.errcode })]),
            el("td", { text: String(r.calls) }), el("td", { text: time(r.last_call_at) })
          ]));
        });
        if (!g.calls.length) body.appendChild(el("tr", {}, [el("td", { colspan: "5", class: "empty", text: "还没有经过网关的调用" })]));
      });
    }
  };

  function load(name) {
    showError("");
    document.body.dataset.state = "loading";
    return loaders[name]().then(function () {
      document.body.dataset.state = "ready";
    }, function (e) {
      if (e.message !== "auth") showError(e.message);
    });
  }

  function show(name) {
    state.tab = name;
    document.querySelectorAll("#tabs button").forEach(function (b) { b.classList.toggle("active", b.dataset.tab === name); });
    document.querySelectorAll(".tab").forEach(function (s) { s.hidden = s.id !== name; });
    load(name);
  }

  function enter() {
    $("login").hidden = true;
    $("tabs").hidden = false;
    $("logout").hidden = false;
    show(state.tab);
  }

  function logout(msg) {
    sessionStorage.removeItem(KEY);
    $("login").hidden = false;
    $("tabs").hidden = true;
    $("logout").hidden = true;
    document.querySelectorAll(".tab").forEach(function (s) { s.hidden = true; });
    showError(msg || "");
    document.body.dataset.state = "login";
  }

  $("login").addEventListener("submit", function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token").value = "";
    enter();
  });
  $("logout").addEventListener("click", function () { logout(""); });
  document.querySelectorAll("#tabs button").forEach(function (b) {
    b.addEventListener("click", function () { show(b.dataset.tab); });
  });
  $("code-filters").addEventListener("submit", function (e) { e.preventDefault(); state.codes = 1; load("codes"); });
  $("code-filters").addEventListener("reset", function () { setTimeout(function () { state.codes = 1; load("codes"); }); });
  $("link-filters").addEventListener("submit", function (e) { e.preventDefault(); state.links = 1; load("links"); });

  if (token()) enter(); else logout("");
})();
