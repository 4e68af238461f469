use crate::{Address, Result, ServerOptions, StreamError, StreamReader, StreamWriter, raw};
use alloc::rc::Rc;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use wit_bindgen::JoinHandle;

/// `asyncio.Server`: returned by [`start_server`]; accepts in a task of its
/// own and runs the callback as a task per connection.
pub struct Server {
    raw: Rc<raw::Server>,
    accept_loop: RefCell<Option<JoinHandle<()>>>,
}

impl Server {
    /// `server.sockets`: the addresses listened on.
    pub fn sockets(&self) -> Vec<Address> {
        self.raw.sockets().into_iter().map(Into::into).collect()
    }

    /// `server.close()`: stop listening; running handlers go on.
    pub fn close(&self) {
        self.raw.close()
    }

    /// `server.is_serving()`.
    pub fn is_serving(&self) -> bool {
        self.raw.is_serving()
    }

    /// `server.close_clients()` (asyncio 3.13): closes every accepted
    /// connection.
    pub fn close_clients(&self) {
        self.raw.close_clients()
    }

    /// `server.abort_clients()` (asyncio 3.13): aborts every accepted
    /// connection.
    pub fn abort_clients(&self) {
        self.raw.abort_clients()
    }

    /// `server.wait_closed()`: once closed, waits until every accepted
    /// connection is closed too.
    pub async fn wait_closed(&self) {
        self.raw.wait_closed().await
    }

    /// `server.serve_forever()`: resolves once the server is closed.
    pub async fn serve_forever(&self) {
        let handle = self.accept_loop.borrow_mut().take();
        if let Some(handle) = handle {
            handle.await;
        }
    }
}

/// `asyncio.start_server(client_connected_cb, host, port)`.
pub async fn start_server<F, Fut>(client_connected_cb: F, host: &str, port: u16) -> Result<Server>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = Result<()>> + 'static,
{
    start_server_with(
        client_connected_cb,
        host,
        port,
        ServerOptions {
            limit: None,
            backlog: None,
        },
    )
    .await
}

/// [`start_server`] with options (`limit`, `backlog`).
pub async fn start_server_with<F, Fut>(
    client_connected_cb: F,
    host: &str,
    port: u16,
    options: ServerOptions,
) -> Result<Server>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = Result<()>> + 'static,
{
    let raw = raw::start_server(host.to_string(), port, options).await?;
    Ok(serve(raw, client_connected_cb))
}

/// `asyncio.start_unix_server(client_connected_cb, path)`.
pub async fn start_unix_server<F, Fut>(client_connected_cb: F, path: &str) -> Result<Server>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = Result<()>> + 'static,
{
    start_unix_server_with(
        client_connected_cb,
        path,
        ServerOptions {
            limit: None,
            backlog: None,
        },
    )
    .await
}

/// [`start_unix_server`] with options.
pub async fn start_unix_server_with<F, Fut>(
    client_connected_cb: F,
    path: &str,
    options: ServerOptions,
) -> Result<Server>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = Result<()>> + 'static,
{
    let raw = raw::start_unix_server(path.to_string(), options).await?;
    Ok(serve(raw, client_connected_cb))
}

fn serve<F, Fut>(raw: raw::Server, cb: F) -> Server
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = Result<()>> + 'static,
{
    let raw = Rc::new(raw);
    let listener = raw.clone();
    let accept_loop = wit_bindgen::spawn_local(async move {
        loop {
            match listener.accept().await.map_err(StreamError::from) {
                Ok((r, w)) => {
                    let conn = cb(StreamReader::from_raw(r), StreamWriter::from_raw(w));
                    drop(wit_bindgen::spawn_local(async move {
                        if let Err(err) = conn.await {
                            eprintln!("client_connected_cb error: {err}");
                        }
                    }));
                }
                Err(StreamError::Closed) => break,
                Err(err) => eprintln!("accept error: {err}"),
            }
        }
    });
    Server {
        raw,
        accept_loop: RefCell::new(Some(accept_loop)),
    }
}
