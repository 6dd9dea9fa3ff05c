//! `awsid mint-web-identity-token`: print a JWT signed with the world's dev OIDC key, for
//! `AssumeRoleWithWebIdentity` tests against `awsid serve`.

use std::path::PathBuf;

use awsid_server::World;
use clap::Args;

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Options of `mint-web-identity-token`.
#[derive(Debug, Args)]
pub(crate) struct MintArgs {
    /// The `sub` claim.
    #[arg(long, default_value = "system:serviceaccount:default:awsid")]
    pub sub: String,
    /// The `aud` claim (must be one of the provider's client ids to be accepted).
    #[arg(long, default_value = "sts.amazonaws.com")]
    pub aud: String,
    /// Lifetime in seconds (`exp` = now + this; negative values mint expired tokens).
    #[arg(long, default_value_t = 3600, allow_negative_numbers = true)]
    pub expires_in: i64,
    /// Issuer URL of the provider to sign for; the first provider with a private key otherwise.
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// World file; the embedded default world otherwise.
    #[arg(long, value_name = "FILE")]
    pub world: Option<PathBuf>,
}

/// Prints the token on stdout.
pub(crate) fn run(
    global: &GlobalArgs,
    args: MintArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let _ = (global, env);
    let world = match &args.world {
        Some(p) => World::load(p).map_err(CliError::configuration)?,
        None => World::default_world(),
    };
    let (provider, key) = world
        .oidc_providers
        .iter()
        .filter(|p| args.issuer.as_deref().is_none_or(|i| i == p.url))
        .find_map(|p| p.keys.iter().find(|k| k.can_sign()).map(|k| (p, k)))
        .ok_or_else(|| {
            CliError::configuration(
                "no OIDC provider with a private key (private_key_pem) in the world",
            )
        })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let claims = serde_json::json!({
        "iss": provider.url,
        "sub": args.sub,
        "aud": args.aud,
        "iat": now,
        "nbf": now,
        "exp": now + args.expires_in,
    });
    let token = key.sign(&claims).map_err(CliError::general)?;
    println!("{token}");
    Ok(0)
}
