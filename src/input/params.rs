//! `Params<T>`: a route's input as one typed struct, read from the merged query string and
//! body (see `Input`). A value of the wrong type is a 400 that names its field: the
//! deserializer below remembers which key it is on, so the struct's own serde derive
//! reports errors without a field name of its own.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{Either, Ready, ready};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::Input;
use crate::error::AppError;

/// The typed input of a route. `T` derives `Deserialize` (with the `loose` readers for
/// numbers and booleans sent as strings) and its OpenAPI schema.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned> Params<T> {
    /// Unknown keys are ignored, as the original service did.
    pub fn from_map(map: Map<String, Value>) -> Result<Self, AppError> {
        let field = RefCell::new(String::new());
        T::deserialize(Fields { map, field: &field })
            .map(Params)
            .map_err(|e| AppError::invalid(field.take(), e.to_string()))
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Params<T> {
    type Error = AppError;
    type Future = Either<
        Ready<Result<Self, AppError>>,
        Pin<Box<dyn Future<Output = Result<Self, AppError>>>>,
    >;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        match Input::from_request(req, payload) {
            // A GET without a body is read at once: no future to box.
            Either::Left(now) => Either::Left(ready(
                now.into_inner()
                    .and_then(|i| Params::from_map(i.into_map())),
            )),
            Either::Right(later) => Either::Right(Box::pin(async move {
                Params::from_map(later.await?.into_map())
            })),
        }
    }
}

/// A map deserializer that records the key whose value is being read.
struct Fields<'f> {
    map: Map<String, Value>,
    field: &'f RefCell<String>,
}

impl<'de> de::Deserializer<'de> for Fields<'_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Entries {
            iter: self.map.into_iter(),
            value: None,
            field: self.field,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct Entries<'f> {
    iter: serde_json::map::IntoIter,
    value: Option<Value>,
    field: &'f RefCell<String>,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        let mut field = self.field.borrow_mut();
        field.clear();
        field.push_str(&key);
        drop(field);
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        seed.deserialize(self.value.take().unwrap_or(Value::Null))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::input::loose;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[serde(default, deserialize_with = "loose::int")]
        width: Option<i64>,
        #[serde(default, deserialize_with = "loose::flag")]
        flag: Option<bool>,
        #[serde(default, deserialize_with = "loose::text")]
        path: Option<String>,
    }

    fn parse(value: Value) -> Result<Sample, AppError> {
        let Value::Object(map) = value else {
            unreachable!("objects only")
        };
        Params::<Sample>::from_map(map).map(|p| p.0)
    }

    #[test]
    fn strings_numbers_and_booleans_read_alike() {
        let s = parse(json!({"width": "430", "flag": "1", "path": 12, "other": [1]})).unwrap();
        assert_eq!(
            (s.width, s.flag, s.path.as_deref()),
            (Some(430), Some(true), Some("12"))
        );
        let s = parse(json!({"width": 280, "flag": false, "path": null})).unwrap();
        assert_eq!((s.width, s.flag, s.path), (Some(280), Some(false), None));
        let s = parse(json!({"width": "", "flag": ""})).unwrap();
        assert_eq!((s.width, s.flag), (None, None));
    }

    #[test]
    fn a_bad_value_names_its_field() {
        for (body, field, rule) in [
            (json!({"path": "a", "width": "wide"}), "width", "必须是整数"),
            (
                json!({"flag": "yes", "width": 1}),
                "flag",
                "必须是布尔值(true/false)",
            ),
            (json!({"path": [1], "zzz": 1}), "path", "必须是字符串"),
            (json!({"width": 1.5}), "width", "必须是整数"),
        ] {
            match parse(body) {
                Err(AppError::Invalid { field: f, rule: r }) => {
                    assert_eq!((f.as_ref(), r.as_ref()), (field, rule));
                }
                other => panic!("expected a 400 on {field}, got {other:?}"),
            }
        }
    }
}
