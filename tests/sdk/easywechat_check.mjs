// node-easywechat (the Node port of EasyWeChat), as published on npm, against the
// product's WeChat API gateway. Configured with the base URL (its own `http.baseURL`
// setting), the appid and a client key only: no code of the SDK is replaced.
//
//   node easywechat_check.mjs calls    # two clients (cgi-bin/token and stable_token):
//                                      # token, code, jscode2session, 48001, 40125
//   node easywechat_check.mjs revoke   # a token revoked at WeChat: the call still succeeds
//
// Environment: WX_BASE (http://127.0.0.1:PORT/wx), APPID, KEY, SIM, PRODUCT, INTERNAL_KEY,
// CACHE_DIR. Prints one line per check; exits non-zero on the first failure.

import { mkdirSync } from 'node:fs';

import { MiniApp } from 'node-easywechat';

const { WX_BASE, APPID, KEY, SIM, PRODUCT, INTERNAL_KEY, CACHE_DIR } = process.env;

function check(ok, what) {
  console.log(`${ok ? 'pass' : 'FAIL'}  node-easywechat: ${what}`);
  if (!ok) process.exit(1);
}

/// A mini-program app of the SDK; `paths` counts what it sent, by path.
function sdk(key, stable, cacheName) {
  // Its token cache: a folder of its own (the SDK creates only the last level).
  mkdirSync(`${CACHE_DIR}/${cacheName}`, { recursive: true });
  const app = new MiniApp({
    app_id: APPID,
    secret: key,
    use_stable_access_token: stable,
    http: { baseURL: `${WX_BASE.replace(/\/$/, '')}/` },
    file_cache: { path: `${CACHE_DIR}/${cacheName}` },
  });
  const paths = {};
  app.getHttpClient().setLogger(async (when, options) => {
    if (when === 'before') {
      const path = options.url.replace(/^\/+/, '');
      paths[path] = (paths[path] || 0) + 1;
    }
  });
  return { app, paths };
}

async function realToken() {
  const res = await fetch(`${PRODUCT}/internal/access_token`, {
    headers: { Authorization: `Bearer ${INTERNAL_KEY}` },
  });
  return (await res.json()).data.access_token;
}

/// An unlimited code through the SDK, and the same request asked of WeChat directly.
async function makeCode(app, scene) {
  const body = { scene, page: 'pages/index/index', width: 280 };
  const res = await app.getClient().post('wxa/getwxacodeunlimit', {
    json: body,
    responseType: 'arraybuffer',
  });
  const through = Buffer.from(res.getContent());
  const direct = Buffer.from(
    await (
      await fetch(`${SIM}/wxa/getwxacodeunlimit?access_token=${encodeURIComponent(await realToken())}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).arrayBuffer(),
  );
  return { through, direct, contentType: res.getHeader('content-type') };
}

const isJpeg = (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

async function calls() {
  for (const [stable, name, tokenPath] of [
    [false, 'cgi-bin/token', 'cgi-bin/token'],
    [true, 'stable_token', 'cgi-bin/stable_token'],
  ]) {
    const { app, paths } = sdk(KEY, stable, name.replace('/', '-'));
    const token = await app.getAccessToken().getToken();
    check(token && token !== (await realToken()), `[${name}] a stand-in token, not the real one`);

    const code = await makeCode(app, `sdk=node-${stable ? 's' : 'c'}`);
    check(isJpeg(code.through) && code.contentType === 'image/jpeg',
      `[${name}] an unlimited code, a JPEG of ${code.through.length} bytes`);
    check(code.through.equals(code.direct), `[${name}] its bytes equal what the simulator sends`);

    const minted = await (
      await fetch(`${SIM}/__sim/login_codes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ appid: APPID, openid: `o-node-${stable ? 's' : 'c'}` }),
      })
    ).json();
    const session = await app.getUtils().codeToSession(minted.code);
    check(session.openid === `o-node-${stable ? 's' : 'c'}`, `[${name}] jscode2session with a minted code`);

    const menu = (await app.getClient().get('cgi-bin/menu/get')).toObject();
    check(menu.errcode === 48001, `[${name}] an API outside allow is 48001`);

    const stranger = sdk('not-the-client-key', stable, `${name.replace('/', '-')}-stranger`).app;
    let refused = '';
    try {
      await stranger.getAccessToken().getToken();
    } catch (e) {
      refused = String(e.message);
    }
    check(refused.includes('40125'), `[${name}] a wrong key is 40125`);

    check(paths[tokenPath] === 1, `[${name}] the SDK fetched its token once`);
  }
}

async function revoke() {
  const { app, paths } = sdk(KEY, true, 'revoke');
  const before = await makeCode(app, 'sdk=node-before');
  check(isJpeg(before.through), 'a code before the revocation');
  await fetch(`${SIM}/__sim/tokens/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ appid: APPID }),
  });
  const after = await makeCode(app, 'sdk=node-after');
  check(isJpeg(after.through) && after.through.equals(after.direct),
    'after the central token was revoked at WeChat, the call still succeeds');
  check(paths['cgi-bin/stable_token'] === 1, 'the SDK still fetched its token once');
}

const phases = { calls, revoke };
await phases[process.argv[2]]();
