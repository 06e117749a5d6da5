//! Code parameters: scene, page, path, width, colours (issue 5).
