//! The logic between controllers and the outside world.
pub mod mini_program;
pub mod token;
