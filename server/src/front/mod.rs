//! What both protocol fronts share. A front only translates: its protocol's messages into
//! engine calls, and engine outputs and errors into its protocol's vocabulary. Everything else
//! a front needs is here: statements prepared and described once for a protocol's statement
//! store (`statement`), and a running statement's cancellation and place among the server's
//! in-flight statements (`running`). Both fronts check passwords with the engine's
//! `login_verifier`.

pub mod running;
pub mod statement;
