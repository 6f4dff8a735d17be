//! Liaison's wire layer: the Amazon Connect and Participant Service operation table (read from
//! AWS's own API models), request binding and validation against those models, and the AWS error
//! vocabulary of each API surface. Serde only: no I/O, no async.

pub mod error;
pub mod input;
pub mod model;

pub use error::{ConnectError, ParticipantError};
pub use input::{InputError, RawInput, bind};
pub use model::{Api, AuthScheme, Catalog, Operation, catalog};
