"""wechatpy, as published on PyPI, against the product's WeChat API gateway.

Configured with the gateway's base URL, the appid and a client key only. wechatpy writes
its host into its code (`https://api.weixin.qq.com`), so the base URL goes in through a
requests transport adapter: it changes where requests go, nothing of wechatpy's logic.

    python wechatpy_check.py calls    # token, code, jscode2session, 48001, 40125
    python wechatpy_check.py revoke   # a token revoked at WeChat: the call still succeeds

Environment: WX_BASE (http://127.0.0.1:PORT/wx), APPID, KEY, SIM, PRODUCT, INTERNAL_KEY.
Prints one line per check; exits non-zero on the first failure.
"""

import collections
import os
import sys

import requests
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

WECHAT = "https://api.weixin.qq.com"
WX_BASE = os.environ["WX_BASE"].rstrip("/")
APPID = os.environ["APPID"]
KEY = os.environ["KEY"]
SIM = os.environ["SIM"]
PRODUCT = os.environ["PRODUCT"]
INTERNAL_KEY = os.environ["INTERNAL_KEY"]


class Gateway(HTTPAdapter):
    """Sends what wechatpy addresses to WeChat to the gateway, and notes each path."""

    def __init__(self, base):
        super().__init__()
        self.base = base
        self.paths = collections.Counter()
        self.bodies = {}

    def send(self, request, **kwargs):
        path = request.url[len(WECHAT):].split("?", 1)[0]
        self.paths[path] += 1
        self.bodies[path] = request.body
        request.url = self.base + request.url[len(WECHAT):]
        return super().send(request, **kwargs)


def sdk(key):
    client = WeChatClient(APPID, key)
    gateway = Gateway(WX_BASE)
    client._http.mount(WECHAT + "/", gateway)
    return client, gateway


def check(ok, what):
    print(("pass" if ok else "FAIL") + f"  wechatpy: {what}", flush=True)
    if not ok:
        sys.exit(1)


def real_token():
    res = requests.get(
        f"{PRODUCT}/internal/access_token",
        headers={"Authorization": f"Bearer {INTERNAL_KEY}"},
        timeout=10,
    )
    return res.json()["data"]["access_token"]


def errcode_of(call):
    try:
        call()
    except WeChatClientException as e:
        return e.errcode
    return None


def make_code(client, gateway, scene):
    """An unlimited code through wechatpy, and the same request asked of WeChat directly."""
    res = client.wxa.get_wxa_code_unlimited(scene, width=280, page="pages/index/index")
    through = res.content if isinstance(res, requests.Response) else b""
    body = gateway.bodies["/wxa/getwxacodeunlimit"]
    direct = requests.post(
        f"{SIM}/wxa/getwxacodeunlimit",
        params={"access_token": real_token()},
        data=body,
        timeout=10,
    ).content
    return through, direct


def calls():
    client, gateway = sdk(KEY)
    token = client.access_token
    check(bool(token) and token != real_token(), "a stand-in token, not the real one")

    through, direct = make_code(client, gateway, "sdk=wechatpy")
    check(through[:3] == b"\xff\xd8\xff", f"an unlimited code, a JPEG of {len(through)} bytes")
    check(through == direct, "its bytes equal what the simulator sends")

    minted = requests.post(
        f"{SIM}/__sim/login_codes", json={"appid": APPID, "openid": "o-wechatpy"}, timeout=10
    ).json()
    session = client.wxa.code_to_session(minted["code"])
    check(session.get("openid") == "o-wechatpy", "jscode2session with a minted code")

    check(errcode_of(client.menu.get) == 48001, "an API outside allow is 48001")

    stranger, _ = sdk("not-the-client-key")
    check(errcode_of(lambda: stranger.access_token) == 40125, "a wrong key is 40125")

    check(gateway.paths["/cgi-bin/token"] == 1, "wechatpy fetched its token once")


def revoke():
    client, gateway = sdk(KEY)
    through, _ = make_code(client, gateway, "sdk=wechatpy-before")
    check(through[:3] == b"\xff\xd8\xff", "a code before the revocation")
    requests.post(f"{SIM}/__sim/tokens/revoke", json={"appid": APPID}, timeout=10)
    through, direct = make_code(client, gateway, "sdk=wechatpy-after")
    check(through == direct and through[:3] == b"\xff\xd8\xff",
          "after the central token was revoked at WeChat, the call still succeeds")
    check(gateway.paths["/cgi-bin/token"] == 1, "wechatpy still fetched its token once")


if __name__ == "__main__":
    {"calls": calls, "revoke": revoke}[sys.argv[1]]()
