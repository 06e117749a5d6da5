//! The simulator's own tests: every rule checked over real HTTP (docs/simulator.md).
#![allow(clippy::unwrap_used)]

mod codes;
mod component;
mod control;
mod helpers;
mod links;
mod media;
mod pushes;
mod receiver;
mod stable;
mod tokens;
mod users;
