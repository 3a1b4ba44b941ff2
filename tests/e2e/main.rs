//! End-to-end tests: each test starts a real `weir` server and talks to it through real clients.
//! SQL behaviour is specified in `tests/slt/*.slt`; protocol behaviour in the modules below.

mod deep_statements;
mod flight;
mod flight_client;
mod protocol;
mod server;
mod slt;
