//! The case catalogue, h2spec style: one module per spec section, each
//! exporting `cases()`. Ids are `<suite>.<section>.<case>`, stable and never
//! renumbered; a retired id is never reused. Adding a case means adding one
//! entry to its section's list.

use crate::case::Case;

mod eio3_handshake;
mod eio3_heartbeat;
mod eio3_message;
mod eio3_session;
mod eio4_close;
mod eio4_cors;
mod eio4_errors;
mod eio4_handshake;
mod eio4_heartbeat;
mod eio4_malformed;
mod eio4_polling;
mod eio4_tls;
mod eio4_upgrade;
mod eio4_websocket;
mod sio4_protocol;
mod sio5_connect;
mod sio5_disconnect;
mod sio5_engine;
mod sio5_malformed;
mod sio5_message;
mod sio5_msgpack;
mod sio5_reconnect;
mod sio5_recovery;
mod sio5_rooms;

/// Every case, in catalogue order.
pub fn all() -> Vec<Case> {
    let sections: &[fn() -> Vec<Case>] = &[
        eio4_handshake::cases,
        eio4_errors::cases,
        eio4_polling::cases,
        eio4_websocket::cases,
        eio4_heartbeat::cases,
        eio4_close::cases,
        eio4_upgrade::cases,
        eio4_cors::cases,
        eio4_malformed::cases,
        eio4_tls::cases,
        eio3_handshake::cases,
        eio3_message::cases,
        eio3_heartbeat::cases,
        eio3_session::cases,
        sio5_engine::cases,
        sio5_connect::cases,
        sio5_disconnect::cases,
        sio5_message::cases,
        sio5_malformed::cases,
        sio5_msgpack::cases,
        sio5_rooms::cases,
        sio5_reconnect::cases,
        sio5_recovery::cases,
        sio4_protocol::cases,
    ];
    sections.iter().flat_map(|f| f()).collect()
}
