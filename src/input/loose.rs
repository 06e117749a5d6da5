//! Readers for `#[serde(deserialize_with = ...)]`: query strings and forms send every value
//! as a string, so numbers and booleans are also accepted spelled out, and an empty
//! string or `null` counts as absent. Use with `#[serde(default)]`.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

const NOT_TEXT: &str = "必须是字符串";
const NOT_INT: &str = "必须是整数";
const NOT_FLAG: &str = "必须是布尔值(true/false)";

/// A string; numbers are accepted and spelled out. `""` stays `Some("")`: some routes
/// tell an empty value from a missing one.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(Text)
}

/// An integer, from a JSON number or a decimal string.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(Int)
}

/// A boolean from `true`/`false`, `1`/`0`, or their string spellings.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(Flag)
}

/// Any JSON value (an object, a string...), `null` as absent: checked later by the domain.
pub fn any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    let v: serde_json::Value = serde::Deserialize::deserialize(d)?;
    Ok((!v.is_null()).then_some(v))
}

/// Every other shape is refused with `rule`, the message the client sees.
macro_rules! refuse_others {
    ($rule:expr; $($method:ident($($ty:ty)?)),*) => {
        $(fn $method<E: de::Error>(self $(, _: $ty)?) -> Result<Self::Value, E> {
            Err(E::custom($rule))
        })*
        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::custom($rule))
        }
        fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::custom($rule))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

struct Text;

impl<'de> Visitor<'de> for Text {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(NOT_TEXT)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    refuse_others!(NOT_TEXT; visit_bool(bool));
}

struct Int;

impl<'de> Visitor<'de> for Int {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(NOT_INT)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v).map(Some).map_err(|_| E::custom(NOT_INT))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.is_empty() {
            return Ok(None);
        }
        v.trim().parse().map(Some).map_err(|_| E::custom(NOT_INT))
    }
    refuse_others!(NOT_INT; visit_f64(f64), visit_bool(bool));
}

struct Flag;

impl<'de> Visitor<'de> for Flag {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(NOT_FLAG)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match v {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => Err(E::custom(NOT_FLAG)),
        }
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(-1))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(E::custom(NOT_FLAG)),
        }
    }
    refuse_others!(NOT_FLAG; visit_f64(f64));
}
