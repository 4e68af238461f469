//! The guest components built into the `wasio` binary (built by build.rs).

/// The seed's echo server handler (`guest/echo-server`).
pub const ECHO_SERVER: &[u8] =
    include_bytes!(concat!(env!("WASIO_GUEST_DIR"), "/echo_server.wasm"));

/// The seed's echo client command (`guest/echo-client`).
pub const ECHO_CLIENT: &[u8] =
    include_bytes!(concat!(env!("WASIO_GUEST_DIR"), "/echo_client.wasm"));

/// The line-by-line echo handler (`guest/echo-lines`).
pub const ECHO_LINES: &[u8] = include_bytes!(concat!(env!("WASIO_GUEST_DIR"), "/echo_lines.wasm"));

/// Where build.rs put every guest component (tests load the others).
pub const GUEST_DIR: &str = env!("WASIO_GUEST_DIR");
