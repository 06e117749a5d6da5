//! Parsed input: values checked against WeChat's own limits at the edge, so services never
//! see a bad one ("parse, don't validate").
pub mod codes;
pub mod links;
pub mod target;
pub mod users;
