//! The seed client's arguments, shared by both echo clients: MESSAGE HOST
//! PORT, all optional.

/// `(message, host, port)`, defaulting to `Hello World!`, `127.0.0.1` and
/// `8888`; an error when PORT is not a port.
pub fn parse(args: &[String]) -> Result<(&str, &str, u16), String> {
    let message = args.first().map_or("Hello World!", String::as_str);
    let host = args.get(1).map_or("127.0.0.1", String::as_str);
    let port = match args.get(2) {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("{p:?} is not a port"))?,
        None => 8888,
    };
    Ok((message, host, port))
}
