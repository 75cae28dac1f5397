//! The client catalogue, h2spec style: one module per spec section, each
//! exporting `cases()`, beside the server catalogue (`cases/`) and apart from
//! it, since its cases run against a client command with a scripted server
//! of their own ([`crate::case::client::Ctx`]) where the server cases run
//! against a server. Ids are `client.<suite>.<section>.<case>`, stable and
//! never renumbered. Cases never import cases; shared checks are in
//! `verify::client`.

use crate::case::Case;

mod eio4_handshake;
mod eio4_heartbeat;
mod eio4_malformed;
mod eio4_polling;
mod eio4_tls;
mod eio4_upgrade;
mod sio5_ack;
mod sio5_binary;
mod sio5_connect;
mod sio5_disconnect;
mod sio5_event;
mod sio5_malformed;
mod sio5_msgpack;
mod sio5_reconnect;
mod sio5_recovery;

/// Every client case, in catalogue order.
pub fn all() -> Vec<Case> {
    let sections: &[fn() -> Vec<Case>] = &[
        eio4_handshake::cases,
        eio4_heartbeat::cases,
        eio4_polling::cases,
        eio4_upgrade::cases,
        eio4_malformed::cases,
        eio4_tls::cases,
        sio5_connect::cases,
        sio5_event::cases,
        sio5_ack::cases,
        sio5_binary::cases,
        sio5_disconnect::cases,
        sio5_reconnect::cases,
        sio5_recovery::cases,
        sio5_malformed::cases,
        sio5_msgpack::cases,
    ];
    sections.iter().flat_map(|f| f()).collect()
}
