//! The WeChat endpoints the product calls: name (for metrics and logs), path, and whether
//! a call spends a single-use code (and so must never be retried blindly).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Api {
    pub name: &'static str,
    pub path: &'static str,
    pub single_use: bool,
}

const fn api(name: &'static str, path: &'static str) -> Api {
    Api {
        name,
        path,
        single_use: false,
    }
}

const fn single_use(name: &'static str, path: &'static str) -> Api {
    Api {
        name,
        path,
        single_use: true,
    }
}

pub const TOKEN: Api = api("token", "/cgi-bin/token");
pub const STABLE_TOKEN: Api = api("stable_token", "/cgi-bin/stable_token");
pub const GET_WXACODE_UNLIMIT: Api = api("getwxacodeunlimit", "/wxa/getwxacodeunlimit");
pub const GET_WXACODE: Api = api("getwxacode", "/wxa/getwxacode");
pub const CREATE_QRCODE: Api = api("createwxaqrcode", "/cgi-bin/wxaapp/createwxaqrcode");
pub const GENERATE_SCHEME: Api = api("generatescheme", "/wxa/generatescheme");
pub const GENERATE_URLLINK: Api = api("generate_urllink", "/wxa/generate_urllink");
pub const GEN_SHORTLINK: Api = api("genwxashortlink", "/wxa/genwxashortlink");
pub const GENERATE_NFC_SCHEME: Api = api("generatenfcscheme", "/wxa/generatenfcscheme");
pub const QUERY_SCHEME: Api = api("queryscheme", "/wxa/queryscheme");
pub const QUERY_URLLINK: Api = api("query_urllink", "/wxa/query_urllink");
pub const JSCODE2SESSION: Api = single_use("jscode2session", "/sns/jscode2session");
pub const PHONE_NUMBER: Api = single_use("getuserphonenumber", "/wxa/business/getuserphonenumber");
pub const COMPONENT_TOKEN: Api = api(
    "api_component_token",
    "/cgi-bin/component/api_component_token",
);
pub const PRE_AUTH_CODE: Api = api(
    "api_create_preauthcode",
    "/cgi-bin/component/api_create_preauthcode",
);
pub const QUERY_AUTH: Api = single_use("api_query_auth", "/cgi-bin/component/api_query_auth");
pub const AUTHORIZER_TOKEN: Api = api(
    "api_authorizer_token",
    "/cgi-bin/component/api_authorizer_token",
);
pub const AUTHORIZER_LIST: Api = api(
    "api_get_authorizer_list",
    "/cgi-bin/component/api_get_authorizer_list",
);
