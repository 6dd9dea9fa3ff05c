//! The local identity plane: a declarative world, policy evaluation, a stateless credential
//! issuer and the HTTP endpoints (IMDS, ECS container credentials, STS) real AWS clients use.

pub mod issuer;
pub mod jwt;
pub mod policy;
pub mod totp;
pub mod world;
